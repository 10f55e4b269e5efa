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
                    var msg = (xhr.responseJSON && xhr.responseJSON.error) || xhr.statusText || 'request failed';
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

    var AllTalkEditor = {
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
        probe: function (server) { return post('alltalk/probe', server); },
        refresh: function (configId) {
            return post('alltalk/server/' + encodeURIComponent(configId) + '/refresh').then(function (r) {
                if (r.ok === false && r.status === 404) { r.error = 'Refresh needs the server configuration deployed first.'; }
                return r.ok === false ? r : Object.assign({ ok: true }, r);
            });
        },
        /**
         * Settings and voice lists for a worker node's dialog: the deployed config node's cache
         * when it is deployed and unchanged, otherwise a live probe with the dialog's values.
         */
        serverData: function (configId) {
            var n = RED.nodes.node(configId);
            if (!n) { return Promise.resolve({ ok: false, error: 'choose an AllTalk server first' }); }
            var probe = function () { return AllTalkEditor.probe(AllTalkEditor.configServer(configId)); };
            if (n.changed) { return probe(); }
            return get('alltalk/server/' + encodeURIComponent(configId)).then(function (r) {
                if (!r.ok || !r.settings) { return probe(); }
                return r;
            });
        },
        rules: function () {
            if (!AllTalkEditor._rules) { AllTalkEditor._rules = get('alltalk/rules'); }
            return AllTalkEditor._rules;
        },
        /** One line about a server: engine, model and voices, or the error. */
        renderServerSummary: function (box, r) {
            box.empty();
            if (!r || r.ok === false || !r.settings) {
                $('<span>').css('color', 'var(--red-ui-text-color-error, #c00)').text((r && r.error) || 'no answer').appendTo(box);
                return;
            }
            var s = r.settings;
            $('<span>').text((r.state || 'ready') + ' · ' + s.current_engine_loaded + ' · ' + (s.current_model_loaded || 'no model') +
                ' · ' + (r.voices || []).length + ' voices · ' + Math.max(0, (r.rvcVoices || []).length - 1) + ' RVC voices').appendTo(box);
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
                $('<option>').val(current).text(current + ' (not on server)').appendTo(select);
            }
            select.val(current || '');
        },
        /** Checks a dialog value against the server's rules (blank = not sent = valid). */
        validField: function (field, value) {
            var rules = AllTalkEditor._rulesData;
            if (value === undefined || value === null || String(value).trim() === '' || !rules) { return true; }
            var rule = rules.ttsGenerate[field];
            if (!rule) { return true; }
            if (rule.type === 'number') {
                var n = Number(value);
                return Number.isFinite(n) && n >= rule.min && n <= rule.max;
            }
            if (rule.pattern) { return new RegExp(rule.pattern).test(String(value)); }
            return true;
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
        /** The server descriptor for admin routes: just the id of a deployed, unchanged config node. */
        routeServer: function (configId) {
            var n = RED.nodes.node(configId);
            if (n && !n.changed) { return { id: configId }; }
            return AllTalkEditor.configServer(configId) || {};
        },
        /**
         * Wires a generation dialog to the live server: datalists of voices and RVC voices, the
         * language list, numeric ranges from the server's rules, fields the engine cannot use
         * greyed out with the reason, a refresh and a voice preview button.
         */
        prepareTtsDialog: function (node, opts) {
            var prefix = '#node-input-';
            var voicesList = opts.voicesList || '#alltalk-tts-voices';
            var languageBlank = opts.languageBlank || 'server default';
            function applyRules(rules) {
                var lang = $(prefix + 'language');
                if (lang.length) { AllTalkEditor.fillSelect(lang, rules.languages, node.language, languageBlank); }
                Object.keys(rules.ttsGenerate).forEach(function (field) {
                    var rule = rules.ttsGenerate[field];
                    var input = $(prefix + field);
                    if (rule.type === 'number' && input.length) {
                        input.attr({ min: rule.min, max: rule.max, step: 'any', title: rule.allowed });
                    }
                });
            }
            function applyServer(r) {
                AllTalkEditor.renderServerSummary($(opts.infoBox), r);
                var voices = (r && r.voices) || [];
                AllTalkEditor._lastVoices = voices;
                var rvc = (r && r.rvcVoices) || [];
                $(voicesList).empty().append(voices.map(function (v) { return $('<option>').val(v); }));
                $('#alltalk-tts-rvcvoices').empty().append(rvc.map(function (v) { return $('<option>').val(v); }));
                var settings = r && r.settings;
                if (opts.onServer) { opts.onServer(r); }
                AllTalkEditor.rules().then(function (rules) {
                    if (!rules || !rules.ttsGenerate) { return; }
                    Object.keys(rules.ttsGenerate).forEach(function (field) {
                        var rule = rules.ttsGenerate[field];
                        var input = $(prefix + field);
                        if (!input.length || !rule.capability) { return; }
                        var capable = !settings || settings[rule.capability] === true;
                        input.prop('disabled', !capable);
                        var note = input.closest('.form-row').find('.alltalk-capability-note');
                        var reason = capable ? '' : 'not supported by ' + settings.current_engine_loaded + ' (' + rule.capability + ')';
                        input.attr('title', reason || rule.allowed || '');
                        if (note.length) { note.text(reason); }
                    });
                });
            }
            function load() {
                var id = $('#node-input-server').val();
                if (!id || id === '_ADD_') { $(opts.infoBox).text(''); return; }
                $(opts.infoBox).text('…');
                AllTalkEditor.serverData(id).then(applyServer);
            }
            // Until the rules arrive, the stored language is the only choice, so saving early keeps it.
            AllTalkEditor.fillSelect($(prefix + 'language'), [], node.language, languageBlank);
            AllTalkEditor.rules().then(function (rules) { if (rules && rules.ttsGenerate) { applyRules(rules); } });
            $('#node-input-server').on('change', load);
            $(opts.refreshButton).on('click', function (e) {
                e.preventDefault();
                var id = $('#node-input-server').val();
                $(opts.infoBox).text('…');
                AllTalkEditor.refresh(id).then(function (r) { return r.ok === false ? AllTalkEditor.serverData(id) : r; }).then(applyServer);
            });
            $(opts.previewButton).on('click', function (e) {
                e.preventDefault();
                var id = $('#node-input-server').val();
                var voice = $(prefix + (opts.previewVoiceField || 'character_voice_gen')).val() || ((AllTalkEditor._lastVoices || [])[0]);
                if (!voice) { RED.notify('Choose a voice first', 'warning'); return; }
                AllTalkEditor.playAudio('alltalk/preview', {
                    server: AllTalkEditor.routeServer(id), voice: voice,
                    rvccharacter_voice_gen: $(prefix + 'rvccharacter_voice_gen').val() || undefined,
                    rvccharacter_pitch: $(prefix + 'rvccharacter_pitch').val() === '' ? undefined : Number($(prefix + 'rvccharacter_pitch').val())
                });
            });
        }
    };
    AllTalkEditor.rules().then(function (r) { if (r && r.ttsGenerate) { AllTalkEditor._rulesData = r; } });
    window.AllTalkEditor = AllTalkEditor;
}());
