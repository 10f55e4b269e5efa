/* Editor helpers shared by the alltalk node dialogs (served by Node-RED at
 * resources/node-red-contrib-alltalk/alltalk-editor.js). Everything goes through the admin
 * routes of the alltalk-config node; the browser never talks to AllTalk itself. */
(function () {
    'use strict';
    if (window.AllTalkEditor) { return; }

    function post(url, body) {
        return new Promise(function (resolve) {
            $.ajax({ url: url, type: 'POST', contentType: 'application/json', data: JSON.stringify(body || {}), dataType: 'json' })
                .done(resolve)
                .fail(function (xhr) {
                    var msg = (xhr.responseJSON && xhr.responseJSON.error) || xhr.statusText || t('result.requestFailed');
                    resolve({ ok: false, status: xhr.status, error: msg });
                });
        });
    }

    function get(url) {
        return new Promise(function (resolve) {
            $.getJSON(url).done(function (data) { resolve(Object.assign({ ok: true }, data)); })
                .fail(function (xhr) { resolve({ ok: false, status: xhr.status, error: (xhr.responseJSON && xhr.responseJSON.error) || xhr.statusText }); });
        });
    }

    /** A text of the config node's catalogue (this script belongs to no single dialog). */
    function t(key, opts) { return RED._('node-red-contrib-alltalk/alltalk-config:alltalk-config.' + key, opts); }

    /** A catalogue text, or undefined when the catalogue does not have it (i18next answers with the key). */
    function known(key, opts) {
        var v = t(key, opts);
        return typeof v === 'string' && v !== 'alltalk-config.' + key && v.indexOf(':alltalk-config.' + key) < 0 ? v : undefined;
    }

    /*
     * Status badges. The runtime sends their words in English, always (Status nodes pass them on
     * and flows compare them; src/runtime/node-badge.ts makes every one). The editor shows them in
     * its own language: each form is matched exactly and its catalogue text (alltalk-config.badge.*)
     * filled with the parts the badge carries. An error's reason stays as it was sent.
     */
    var BADGE_WORDS = {
        'connecting': 'connecting', 'ready': 'ready', 'busy': 'busy', 'loading model…': 'loading', 'offline': 'offline',
        'generating…': 'generating', 'streaming…': 'streaming', 'stopped': 'stopped', 'stopping': 'stopping',
        'no server configured': 'noServer', 'waiting for a speaker': 'waiting', 'no voice chosen': 'noVoice'
    };
    var SECONDS = /^(\d+)(?:\.(\d+))? s$/;
    var BADGE_FORMS = [
        { re: /^queued \((\d+)\)$/, key: 'queued', params: function (m) { return { n: m[1] }; } },
        { re: /^done (\d+(?:\.\d+)? s) (.+)$/, key: 'doneDetail', params: function (m, tr) { return { time: seconds(m[1], tr), detail: m[2] }; } },
        { re: /^done (.+)$/, key: 'done', params: function (m, tr) { return { time: seconds(m[1], tr) }; } },
        { re: /^streaming (.+)$/, key: 'streamingTime', params: function (m, tr) { return { time: seconds(m[1], tr) }; } },
        { re: /^error: ([\s\S]*)$/, key: 'error', params: function (m) { return { reason: m[1] }; } },
        { re: /^listening (\S+) · (\d+) served · (\d+) failed$/, key: 'listeningFailed', params: function (m) { return { address: m[1], served: m[2], failed: m[3] }; } },
        { re: /^listening (\S+) · (\d+) served$/, key: 'listeningServed', params: function (m) { return { address: m[1], served: m[2] }; } },
        { re: /^listening (\S+)$/, key: 'listening', params: function (m) { return { address: m[1] }; } },
        { re: /^speaking \((\d+)\)$/, key: 'speaking', params: function (m) { return { n: m[1] }; } },
        { re: /^port (\d+) in use · retrying$/, key: 'portInUse', params: function (m) { return { port: m[1] }; } }
    ];
    /** "1.8 s" with the language's decimal mark ("1,8 s"); any other text as it is. */
    function seconds(text, translate) {
        var m = SECONDS.exec(text);
        if (!m || m[2] === undefined) { return text; }
        return m[1] + (translate('number.decimalMark') || '.') + m[2] + ' s';
    }
    /**
     * The badge `text` in the language of `translate(key, params)` (a lookup in the alltalk-config
     * catalogue that answers undefined for a key it lacks), or undefined when `text` is no badge.
     */
    function badgeText(text, translate) {
        if (typeof text !== 'string') { return undefined; }
        if (Object.prototype.hasOwnProperty.call(BADGE_WORDS, text)) { return translate('badge.' + BADGE_WORDS[text]); }
        for (var i = 0; i < BADGE_FORMS.length; i++) {
            var m = BADGE_FORMS[i].re.exec(text);
            if (m) { return translate('badge.' + BADGE_FORMS[i].key, BADGE_FORMS[i].params(m, translate)); }
        }
        return undefined;
    }

    var AllTalkEditor = {
        t: t,
        badgeText: badgeText,
        /**
         * Called by each node's definition right after registerType: the editor translates every
         * status text with the type's `_` (nodes take theirs from the type), so a badge word is
         * answered from the catalogue here and everything else goes on to Node-RED's own `_`.
         */
        translateBadges: function (type) {
            var def = RED.nodes.getType(type);
            if (!def || typeof def._ !== 'function' || def._.alltalkBadges) { return; }
            var original = def._;
            def._ = function (key) {
                var shown = badgeText(key, known);
                return shown !== undefined ? shown : original.apply(this, arguments);
            };
            def._.alltalkBadges = true;
        },
        /** An engine as people write it ("piper" is Piper); an engine not listed here as AllTalk names it. */
        engineName: function (engine) {
            var names = { piper: 'Piper', xtts: 'XTTS', vits: 'VITS', f5tts: 'F5-TTS', parler: 'Parler', kokoro: 'Kokoro' };
            return names[String(engine || '').toLowerCase()] || String(engine || '');
        },
        /** A server state (connecting, ready, busy, loading, offline) in the editor's language. */
        stateText: function (state) {
            return (['connecting', 'ready', 'busy', 'loading', 'offline'].indexOf(state) >= 0 && known('state.' + state)) || state;
        },
        /** The connection settings typed in the config dialog (fields with the given id prefix). */
        dialogServer: function (id, prefix) {
            function val(name) { return $('#' + prefix + name).val(); }
            var creds = {};
            ['apiKey', 'username', 'password'].forEach(function (k) {
                var v = val(k);
                if (v !== undefined && v !== '') { creds[k] = v; }
            });
            return {
                id: id, protocol: val('protocol'), host: val('host'), port: val('port'), timeout: val('timeout'),
                tls: val('tls') === '_ADD_' ? '' : val('tls'), apiKeyHeader: val('apiKeyHeader'), credentials: creds
            };
        },
        /** The connection settings of a config node known to the editor (deployed or not). */
        configServer: function (configId) {
            var n = RED.nodes.node(configId);
            if (!n) { return null; }
            var creds = {};
            if (n.credentials) {
                ['apiKey', 'username', 'password'].forEach(function (k) {
                    if (n.credentials[k]) { creds[k] = n.credentials[k]; }
                });
            }
            return { id: n.id, protocol: n.protocol, host: n.host, port: n.port, timeout: n.timeout, tls: n.tls, apiKeyHeader: n.apiKeyHeader, credentials: creds };
        },
        probe: function (server) {
            return post('alltalk/probe', server).then(function (r) { return AllTalkEditor.remember(server && server.id, r); });
        },
        /**
         * Refresh: a deployed, unchanged server configuration asks AllTalk to reload its
         * configuration and reads everything again; one that is not deployed (or has changes not
         * deployed) cannot, so what its address reports now is read instead, and the answer says so.
         */
        refresh: function (configId) {
            var n = RED.nodes.node(configId);
            if (!n || n.changed) { return AllTalkEditor.notDeployed(configId); }
            return post('alltalk/server/' + encodeURIComponent(configId) + '/refresh').then(function (r) {
                if (r.deployed === false) { return AllTalkEditor.notDeployed(configId); }
                if (r.ok === false) { return r; }
                r = Object.assign({ ok: true, note: t('result.refreshed', { origin: r.origin }) }, r);
                return AllTalkEditor.remember(configId, r);
            });
        },
        notDeployed: function (configId) {
            return AllTalkEditor.probe(AllTalkEditor.configServer(configId)).then(function (r) {
                return Object.assign(r, { note: t('result.notDeployed', { origin: r.origin || '' }) });
            });
        },
        /** The last answer about a server, for the validators (voices, capabilities). */
        remember: function (configId, r) {
            if (configId && r && r.ok !== false && r.settings) { AllTalkEditor._servers[configId] = r; }
            return r;
        },
        _servers: {},
        _pending: {},
        /**
         * Settings and voice lists for a worker node's dialog: the deployed config node's cache
         * when it is deployed and unchanged, otherwise a live probe with its values. Asked twice
         * at once (a dialog fires its server field's change more than once), it is read once.
         */
        serverData: function (configId) {
            var n = RED.nodes.node(configId);
            if (!n) { return Promise.resolve({ ok: false, error: t('result.chooseServer') }); }
            if (AllTalkEditor._pending[configId]) { return AllTalkEditor._pending[configId]; }
            var probe = function () { return AllTalkEditor.probe(AllTalkEditor.configServer(configId)); };
            var reading = n.changed ? probe() : get('alltalk/server/' + encodeURIComponent(configId)).then(function (r) {
                if (!r.ok || !r.settings || r.deployed === false) { return probe(); }
                return AllTalkEditor.remember(configId, r);
            });
            AllTalkEditor._pending[configId] = reading;
            return reading.then(function (r) {
                delete AllTalkEditor._pending[configId];
                return r;
            });
        },
        rules: function () {
            if (!AllTalkEditor._rules) { AllTalkEditor._rules = get('alltalk/rules'); }
            return AllTalkEditor._rules;
        },
        /** One line about a server (which one, its engine, model and voices), or the error. Hidden when empty. */
        renderServerSummary: function (box, r) {
            box.empty().show();
            if (r === undefined) { box.hide(); return; }
            if (r.note) { $('<div>').text(r.note).appendTo(box); }
            if (r.ok === false || !r.settings) {
                $('<span>').css('color', 'var(--red-ui-text-color-error, #c00)').text(r.error || t('result.noAnswer')).appendTo(box);
                return;
            }
            var s = r.settings;
            $('<span>').text((r.origin ? r.origin + ': ' : '') + t('result.summary', {
                state: AllTalkEditor.stateText(r.state || 'ready'), engine: s.current_engine_loaded, model: s.current_model_loaded || '-',
                voices: (r.voices || []).length, rvc: Math.max(0, (r.rvcVoices || []).length - 1)
            })).appendTo(box);
        },
        /**
         * Fills a <select> with values, keeping the current value even when the server does not
         * list it (shown as "(not on server)"), with an optional blank "server default" entry.
         */
        fillSelect: function (select, values, current, blankLabel) {
            select.empty();
            if (blankLabel !== undefined) { $('<option>').val('').text(blankLabel).appendTo(select); }
            (values || []).forEach(function (v) { $('<option>').val(v).text(v).appendTo(select); });
            if (current && (values || []).indexOf(current) < 0) {
                $('<option>').val(current).text(current + ' ' + t('result.notOnServer')).appendTo(select);
            }
            select.val(current || '');
        },
        /**
         * Checks a dialog value against the server's rules (blank = not sent = valid), and, once the
         * server of the node is known, against what its engine can do: a value the
         * engine cannot use would be refused, so it is marked. Called with the node as `this`.
         */
        validField: function (field, value) {
            var rules = AllTalkEditor._rulesData;
            if (value === undefined || value === null || String(value).trim() === '' || !rules) { return true; }
            var rule = rules.ttsGenerate[field];
            if (!rule) { return true; }
            var server = AllTalkEditor.knownServer(this);
            if (rule.capability && server && server.settings && server.settings[rule.capability] !== true) { return false; }
            if (rule.type === 'number') {
                var n = Number(value);
                return Number.isFinite(n) && n >= rule.min && n <= rule.max;
            }
            if (rule.pattern && !new RegExp(rule.pattern).test(String(value))) { return false; }
            return true;
        },
        /**
         * What is known about a node's server: while its dialog is open, the server chosen in the
         * dialog (saved or not), otherwise the saved one.
         */
        knownServer: function (node) {
            if (!node) { return undefined; }
            var id = node.server;
            if (AllTalkEditor._editing === node && $('#node-input-server').length) { id = $('#node-input-server').val(); }
            return id ? AllTalkEditor._servers[id] : undefined;
        },
        /** A voice must be one the node's server lists, once that list is known. Called with the node as `this`. */
        validVoice: function (value) {
            if (value === undefined || value === null || String(value).trim() === '') { return true; }
            if (!/^[^<>"|?*]+$/.test(String(value))) { return false; }
            var server = AllTalkEditor.knownServer(this);
            var voices = server && server.voices;
            return !voices || voices.length === 0 || voices.indexOf(String(value).trim()) >= 0;
        },
        /** The config dialog's API key header name and key, checked with the runtime's own rules. */
        validHeaderName: function (v) {
            var rules = AllTalkEditor._rulesData;
            if (v === undefined || v === null || String(v).trim() === '' || !rules || !rules.headers) { return true; }
            var name = String(v).trim();
            return new RegExp(rules.headers.name).test(name) && rules.headers.reserved.indexOf(name.toLowerCase()) < 0;
        },
        validHeaderValue: function (v) {
            var rules = AllTalkEditor._rulesData;
            if (!v || v === '__PWRD__' || !rules || !rules.headers) { return true; }
            return !new RegExp(rules.headers.invalidValueChar).test(String(v));
        },
        /** Plays audio bytes from an admin route in the browser. */
        playAudio: function (url, body) {
            return new Promise(function (resolve) {
                $.ajax({ url: url, type: 'POST', contentType: 'application/json', data: JSON.stringify(body), xhrFields: { responseType: 'blob' } })
                    .done(function (blob) {
                        var src = URL.createObjectURL(blob);
                        var audio = new Audio(src);
                        audio.addEventListener('ended', function () { URL.revokeObjectURL(src); });
                        var playing = audio.play();
                        if (playing && playing.catch) { playing.catch(function (err) { RED.notify(String(err), 'error'); URL.revokeObjectURL(src); }); }
                        resolve({ ok: true });
                    })
                    .fail(function (xhr) {
                        var reader = new FileReader();
                        reader.onload = function () {
                            var msg = xhr.statusText;
                            try { msg = JSON.parse(reader.result).error || msg; } catch { /* not JSON */ }
                            RED.notify(msg, 'error');
                            resolve({ ok: false, error: msg });
                        };
                        if (xhr.response instanceof Blob) { reader.readAsText(xhr.response); } else { RED.notify(xhr.statusText, 'error'); resolve({ ok: false }); }
                    });
            });
        },
        /**
         * The server descriptor for admin routes: the id and the address the editor holds. The
         * runtime uses its deployed node only when both match (a node added or edited and not
         * deployed yet is reached at the address shown in the editor).
         */
        routeServer: function (configId) {
            return AllTalkEditor.configServer(configId) || {};
        }
    };
    AllTalkEditor.rules().then(function (r) { if (r && r.ttsGenerate) { AllTalkEditor._rulesData = r; } });
    // The dialogs' style (resources/alltalk-editor.css), once.
    $('<link rel="stylesheet" type="text/css">').attr('href', ((RED.settings && RED.settings.apiRootUrl) || '') + 'resources/node-red-contrib-alltalk/alltalk-editor.css').appendTo('head');
    window.AllTalkEditor = AllTalkEditor;
    // Scripts loaded beside this one (alltalk-editor-form.js) that arrived first add their part now.
    (window.AllTalkEditorParts || []).forEach(function (install) { install(AllTalkEditor); });
    window.AllTalkEditorParts = [];
}());
