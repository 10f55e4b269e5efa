/* The dialogs' forms, shared by every alltalk node (served by Node-RED at
 * resources/node-red-contrib-alltalk/alltalk-editor-form.js, beside alltalk-editor.js): sections that
 * fold, the searchable voice picker, values from anywhere (typedInputs), the rows that show for some
 * choices only, and the generation dialogs wired to the live server. */
(function () {
    'use strict';

    function install(AE) {
        if (AE.prepareDialog) { return; }
        var t = AE.t;
        var TYPES_FROM_ANYWHERE = ['msg', 'flow', 'global', 'env', 'jsonata'];

        /** The type of a typedInput field: the dialog's while it is open, else the node's. */
        function typeOf(node, typeField) {
            var input = $('#node-input-' + typeField);
            if (AE._editing === node && input.length) { return input.val(); }
            return node && node[typeField];
        }

        /** An engine that cannot do what `flag` stands for, said in words. */
        function cannot(flag, engine) {
            var name = AE.engineName(engine);
            var key = 'capability.' + flag;
            var text = t(key, { engine: name });
            return text && text.indexOf(key) < 0 ? text : t('capability.notSupported', { engine: name });
        }

        /** A voice list as autoComplete entries: the matching part of each name in bold. */
        function matches(list, value) {
            var q = String(value || '').trim().toLowerCase();
            // A value that is one of the voices lists them all (a click on a chosen voice offers the others).
            if (list.indexOf(String(value || '').trim()) >= 0) { q = ''; }
            return list.filter(function (v) { return v.toLowerCase().indexOf(q) >= 0; }).map(function (v) {
                var at = v.toLowerCase().indexOf(q);
                var label = $('<span>');
                if (!q) { label.text(v); } else {
                    label.append(document.createTextNode(v.slice(0, at)), $('<b>').text(v.slice(at, at + q.length)), document.createTextNode(v.slice(at + q.length)));
                }
                return { value: v, label: label };
            });
        }

        /** The search of a voice picker on the list `which()` returns (the server's voices, or its RVC voices). */
        function searchIn(which) {
            return function (value, done) { done(matches(which() || [], value)); };
        }
        var voiceSearch = searchIn(function () { return AE._lastVoices; });
        var rvcSearch = searchIn(function () { return AE._lastRvc; });

        /** Opens a picker's list on a click too, not only when typing. */
        function openOnClick(input) {
            input.on('click', function () {
                if ($('.red-ui-autoComplete-container:visible').length) { return; }
                input.trigger($.Event('keyup', { keyCode: 40 }));
            });
        }

        /** The language type of a typedInput: the server's languages (and the blank choice). */
        function languageType(languages, current, blank) {
            var options = [{ value: '', label: blank }].concat((languages || []).map(function (l) { return { value: l, label: l }; }));
            if (current && (languages || []).indexOf(current) < 0) { options.push({ value: current, label: current + ' ' + t('result.notOnServer') }); }
            return { value: 'str', label: t('form.language'), icon: 'fa fa-language', options: options };
        }

        Object.assign(AE, {
            /**
             * A validator for a typedInput field: a value typed in the dialog (type str or num) is
             * checked by `check`; one from msg, context, env or JSONata as Node-RED checks it.
             */
            typed: function (typeField, check) {
                return function (v, opt) {
                    var type = typeOf(this, typeField);
                    if (!type || type === 'str' || type === 'num') { return check ? check.call(this, v) : true; }
                    return RED.validators.typedInput(typeField).call(this, v, opt);
                };
            },
            /** A whole number from min to max; blank allowed when `optional`. */
            count: function (min, max, optional) {
                return function (v) {
                    if ((v === '' || v === undefined || v === null) && optional) { return true; }
                    var n = Number(v);
                    return Number.isInteger(n) && n >= min && n <= max;
                };
            },
            /**
             * Folds the dialog's sections: one marked "auto" opens when a field in it differs from
             * its default (so nothing set is ever hidden), and shows what is set while folded.
             */
            sections: function (node) {
                var defs = (node && node._def && node._def.defaults) || {};
                function fieldOf(el) { return (el.id || '').replace(/^node-(config-)?input-/, ''); }
                function setFields(body) {
                    var set = [];
                    body.find('input[id^="node-"], select[id^="node-"]').each(function () {
                        var el = $(this);
                        var type = el.attr('type');
                        var name = fieldOf(this);
                        // A typedInput's type field counts with its value; a typedInput's own field is hidden by it.
                        if (!name || (/Type$/.test(name) && defs[name.slice(0, -4)])) { return; }
                        if (type === 'hidden' && !el.hasClass('red-ui-typedInput')) { return; }
                        var value = type === 'checkbox' ? el.prop('checked') : el.val();
                        var def = defs[name] ? defs[name].value : type === 'checkbox' ? false : '';
                        var typeInput = $('#' + this.id + 'Type');
                        var typeDef = defs[name + 'Type'] ? defs[name + 'Type'].value : undefined;
                        var changed = String(value === null || value === undefined ? '' : value) !== String(def === undefined ? '' : def) ||
                            (typeInput.length && typeDef !== undefined && typeInput.val() !== typeDef);
                        if (!changed) { return; }
                        var label = $.trim(el.closest('.form-row').find('label').first().text());
                        var from = typeInput.length ? typeInput.val() : '';
                        var shown = type === 'checkbox' || type === 'password' ? '' : el.is('select') ? el.find('option:selected').text() :
                            from && from !== 'str' && from !== 'num' ? from + (from === 'jsonata' ? '' : '.' + value) : value;
                        set.push(label + (shown && label ? ' ' + shown : shown));
                    });
                    body.find('ol.red-ui-editableList-list, ol[id]').each(function () {
                        if ($(this).children().length) { set.push($.trim($(this).closest('.alltalk-section').find('.alltalk-section-toggle').text())); }
                    });
                    return set;
                }
                $('.alltalk-section').each(function () {
                    var section = $(this);
                    var head = section.children('.alltalk-section-head');
                    var body = section.children('.alltalk-section-body');
                    function setOpen(open) {
                        section.toggleClass('alltalk-closed', !open);
                        body.toggle(open);
                        head.find('.alltalk-section-toggle i').toggleClass('fa-angle-down', open).toggleClass('fa-angle-right', !open);
                        head.find('.alltalk-section-summary').text(open ? '' : setFields(body).join(' · '));
                    }
                    head.find('.alltalk-section-toggle').on('click', function (e) {
                        e.preventDefault();
                        setOpen(section.hasClass('alltalk-closed'));
                    });
                    setOpen(section.data('fold') === 'open' || setFields(body).length > 0);
                });
            },
            /** A searchable picker of the server's voices on a plain input. */
            voicePicker: function (input, rvc) {
                input = $(input);
                input.autoComplete({ search: rvc ? rvcSearch : voiceSearch, minLength: 0 });
                openOnClick(input);
            },
            /** The voice as a typedInput: the picker for a voice chosen here, or a value from anywhere. */
            typedVoice: function (field) {
                var input = $('#node-input-' + field);
                input.typedInput({
                    default: 'str', typeField: '#node-input-' + field + 'Type',
                    types: [{ value: 'str', label: t('form.voice'), icon: 'fa fa-user', autoComplete: voiceSearch }].concat(TYPES_FROM_ANYWHERE)
                });
                openOnClick(input.parent().find('input.red-ui-typedInput-input'));
            },
            /** The language as a typedInput: the server's languages, or a value from anywhere. */
            typedLanguage: function (current, blank) {
                var input = $('#node-input-language');
                var types = function (langs) { return [languageType(langs, current, blank)].concat(TYPES_FROM_ANYWHERE); };
                input.typedInput({ default: 'str', typeField: '#node-input-languageType', types: types([]) });
                AE.rules().then(function (rules) {
                    if (!rules || !rules.languages) { return; }
                    var type = $('#node-input-languageType').val();
                    var value = input.typedInput('value');
                    input.typedInput('types', types(rules.languages));
                    input.typedInput('type', type || 'str');
                    input.typedInput('value', value);
                });
            },
            /** A number (speed) as a typedInput: a number typed here, or a value from anywhere. */
            typedNumber: function (field) {
                $('#node-input-' + field).typedInput({ default: 'num', typeField: '#node-input-' + field + 'Type', types: ['num'].concat(TYPES_FROM_ANYWHERE) });
            },
            /**
             * What every dialog does: sections, the text as a typedInput, the rows that show for
             * some choices only (a file's path, the longest text when splitting), and the server's
             * summary with its Refresh button. `opts.onServer(r)` hears of every answer about the server.
             */
            prepareDialog: function (node, opts) {
                var ns = opts.ns;
                AE._editing = node;
                if ($('#node-input-property').length && $('#node-input-propertyType').length) {
                    $('#node-input-property').typedInput({ default: 'msg', typeField: '#node-input-propertyType', types: ['msg', 'flow', 'global', 'str', 'env', 'jsonata'] });
                }
                function toggleFile() { var o = $('#node-input-output').val(); $('#' + ns + '-file-row, #' + ns + '-folders-row').toggle(o === 'file' || o === 'msg'); }
                $('#node-input-output').on('change', toggleFile);
                toggleFile();
                function toggleTotal() { $('#' + ns + '-total-row').toggle($('#node-input-splitLongText').is(':checked')); }
                $('#node-input-splitLongText').on('change', toggleTotal);
                toggleTotal();
                var box = $('#' + ns + '-server-info');
                function show(r) {
                    AE.renderServerSummary(box, r);
                    if (opts.onServer) { opts.onServer(r); }
                }
                $('#node-input-server').on('change', function () {
                    var id = $('#node-input-server').val();
                    if (!id || id === '_ADD_') { AE.renderServerSummary(box); return; }
                    box.show().text('…');
                    AE.serverData(id).then(function (r) { AE.remember(id, r); show(r); });
                });
                $('#' + ns + '-refresh').on('click', function (e) {
                    e.preventDefault();
                    box.show().text('…');
                    AE.refresh($('#node-input-server').val()).then(show);
                });
                AE.sections(node);
            },
            /**
             * A generation dialog wired to the live server: the voice pickers, the language list,
             * numeric ranges from the server's rules, fields the engine cannot use greyed with the
             * reason in words, and the voice preview. opts: ns, voiceFields (the first one is
             * previewed), typed (voice, language and speed are typedInputs), languageBlank, onServer.
             */
            prepareTtsDialog: function (node, opts) {
                var prefix = '#node-input-';
                var voiceFields = opts.voiceFields || ['voice'];
                var typed = opts.typed !== false;
                var languageBlank = opts.languageBlank || t('result.serverDefault');
                voiceFields.forEach(function (f, i) {
                    if (typed && i === 0) { AE.typedVoice(f); } else { AE.voicePicker(prefix + f); }
                });
                $(prefix + 'rvccharacter_voice_gen, ' + prefix + 'rvcnarrator_voice_gen').each(function () { AE.voicePicker(this, true); });
                if (typed && $(prefix + 'languageType').length) { AE.typedLanguage(node.language, languageBlank); } else { AE.fillSelect($(prefix + 'language'), [], node.language, languageBlank); }
                if (typed && $(prefix + 'speedType').length) { AE.typedNumber('speed'); }
                AE.rules().then(function (rules) {
                    if (!rules || !rules.ttsGenerate) { return; }
                    if ($(prefix + 'language').is('select')) { AE.fillSelect($(prefix + 'language'), rules.languages, node.language, languageBlank); }
                    Object.keys(rules.ttsGenerate).forEach(function (field) {
                        var rule = rules.ttsGenerate[field];
                        if (rule.type === 'number') { $(prefix + field).filter('[type="number"]').attr({ min: rule.min, max: rule.max, step: 'any', title: rule.allowed }); }
                    });
                });
                /** The note under a field the engine cannot use; it says so when the value set there would be refused. */
                function showCapability(input) {
                    var reason = input.data('alltalk-reason') || '';
                    var value = String(input.val() || '').trim();
                    var note = reason && value ? reason + ' ' + t('capability.willBeRefused') : reason;
                    input.attr('title', note || input.data('alltalk-allowed') || '');
                    input.closest('.form-row').find('.alltalk-capability-note').text(note).toggleClass('alltalk-refused', !!(reason && value)).toggle(!!reason);
                }
                function onServer(r) {
                    AE._lastVoices = (r && r.voices) || [];
                    AE._lastRvc = (r && r.rvcVoices) || [];
                    var settings = r && r.settings;
                    if (opts.onServer) { opts.onServer(r); }
                    AE.rules().then(function (rules) {
                        if (!rules || !rules.ttsGenerate) { return; }
                        Object.keys(rules.ttsGenerate).forEach(function (field) {
                            var rule = rules.ttsGenerate[field];
                            var input = $(prefix + field);
                            if (!input.length || !rule.capability) { return; }
                            // Grey is advice, never a lock: a saved value must stay clearable.
                            var capable = !settings || settings[rule.capability] === true;
                            input.closest('.form-row').toggleClass('alltalk-not-capable', !capable);
                            input.data('alltalk-reason', capable ? '' : cannot(rule.capability, settings.current_engine_loaded));
                            input.data('alltalk-allowed', rule.allowed || '');
                            showCapability(input);
                        });
                        // The node's fields are checked again with what the server can do now.
                        voiceFields.forEach(function (f) { $(prefix + f).trigger('change'); });
                        Object.keys(rules.ttsGenerate).forEach(function (field) { $(prefix + field).trigger('change'); });
                    });
                }
                $('.alltalk-capability-note').closest('.form-row').find('input, select').on('change input', function () {
                    if ($(this).data('alltalk-reason') !== undefined) { showCapability($(this)); }
                });
                $('#' + opts.ns + '-preview').on('click', function (e) {
                    e.preventDefault();
                    var field = voiceFields[0];
                    var own = !$(prefix + field + 'Type').length || $(prefix + field + 'Type').val() === 'str';
                    var voice = (own && $(prefix + field).val()) || (AE._lastVoices || [])[0];
                    if (!voice) { RED.notify(t('result.chooseVoice'), 'warning'); return; }
                    AE.playAudio('alltalk/preview', {
                        server: AE.routeServer($('#node-input-server').val()), voice: voice,
                        rvccharacter_voice_gen: $(prefix + 'rvccharacter_voice_gen').val() || undefined,
                        rvccharacter_pitch: $(prefix + 'rvccharacter_pitch').val() === '' ? undefined : Number($(prefix + 'rvccharacter_pitch').val())
                    });
                });
                AE.prepareDialog(node, { ns: opts.ns, onServer: onServer });
            },
            /** Why an engine cannot do something, in words ("Piper cannot change the speed."). */
            cannot: cannot
        });
    }

    if (window.AllTalkEditor) { install(window.AllTalkEditor); } else { (window.AllTalkEditorParts = window.AllTalkEditorParts || []).push(install); }
}());
