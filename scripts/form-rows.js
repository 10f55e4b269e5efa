'use strict';
// The dialog rows that several nodes share, written once. A node's dialog (src/nodes/<type>/<type>.html)
// asks for them with a comment that scripts/build-nodes.js replaces:
//   <!-- alltalk:rows voiceRows {"ns": "alltalk-tts", "field": "character_voice_gen"} -->
// `ns` is the node type: each row's texts come from that node's own catalogue (labels, options,
// placeholders), so each dialog keeps its own words for the same row.

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** A row's label: icon and catalogue text, for the input `field`. */
function label(ns, field, icon, key) {
  return `<label for="node-input-${field}"><i class="fa fa-${icon}"></i> <span data-i18n="${ns}.label.${key}"></span></label>`;
}

/** A checkbox with its text, under the inputs (no label in front). */
function checkRow(ns, field, key, id = '') {
  return `<div class="form-row alltalk-check-row"${id ? ` id="${id}"` : ''}>
        <label for="node-input-${field}"><input type="checkbox" id="node-input-${field}"><span data-i18n="${ns}.label.${key}"></span></label>
    </div>`;
}

const ROWS = {
  /** The scripts and style every dialog loads (resources/ of this package, served by Node-RED). */
  scripts() {
    return ['alltalk-editor.js', 'alltalk-editor-form.js']
      .map((f) => `<script type="text/javascript" src="resources/node-red-contrib-alltalk/${f}"></script>`).join('\n');
  },

  nameRow({ ns }) {
    return `<div class="form-row">
        ${label(ns, 'name', 'tag', 'name')}
        <input type="text" id="node-input-name" class="alltalk-wide" data-i18n="[placeholder]${ns}.label.name">
    </div>`;
  },

  /** The server, and under it what it reports (engine, model, voices) with a Refresh button. */
  serverRows({ ns }) {
    return `<div class="form-row">
        ${label(ns, 'server', 'server', 'server')}
        <input type="text" id="node-input-server" style="width: calc(100% - 155px)">
    </div>
    <div class="form-row alltalk-info-row">
        <span id="${ns}-server-info" class="form-tips alltalk-server-info" style="display: none"></span>
        <button type="button" class="red-ui-button red-ui-button-small" id="${ns}-refresh" data-i18n="[title]${ns}.label.refresh"><i class="fa fa-refresh"></i></button>
    </div>`;
  },

  /**
   * The text to speak (a typedInput), and the limits: the longest text sent at once
   * (`max`: alltalk-openai has the OpenAI limit instead), split long text, the longest text in all.
   */
  textRows({ ns, max = true }) {
    const limit = max
      ? `<div class="form-row">
        ${label(ns, 'maxCharacters', 'scissors', 'maxCharacters')}
        <input type="number" id="node-input-maxCharacters" class="alltalk-number" min="1" max="100000" step="1">
        <label for="node-input-splitLongText" class="alltalk-inline-check"><input type="checkbox" id="node-input-splitLongText"><span data-i18n="${ns}.label.split"></span></label>
    </div>`
      : checkRow(ns, 'splitLongText', 'split');
    return `<div class="form-row">
        ${label(ns, 'property', 'font', 'text')}
        <input type="text" id="node-input-property" style="width: calc(100% - 155px)">
        <input type="hidden" id="node-input-propertyType">
    </div>
    ${limit}
    <div class="form-row" id="${ns}-total-row">
        ${label(ns, 'maxTotalCharacters', 'align-justify', 'maxTotalCharacters')}
        <input type="number" id="node-input-maxTotalCharacters" class="alltalk-number" min="1" max="10000000" step="1">
        <span data-i18n="${ns}.label.characters"></span>
    </div>`;
  },

  /**
   * The voice (a searchable picker on the server's voices, or a value from the message, flow,
   * global context, environment or JSONata) with a preview button, and the language.
   * `typed: false` for a node that takes no messages (alltalk-wyoming).
   */
  voiceRows({ ns, field = 'voice', placeholder = 'placeholder.serverDefault', typed = true, language = true }) {
    const typeField = typed ? `\n        <input type="hidden" id="node-input-${field}Type">` : '';
    const width = typed ? 'calc(100% - 190px)' : '';
    const lang = !language ? '' : `
    <div class="form-row">
        ${label(ns, 'language', 'language', 'language')}
        ${typed ? `<input type="text" id="node-input-language" style="width: calc(100% - 155px)">
        <input type="hidden" id="node-input-languageType">` : '<select id="node-input-language" class="alltalk-wide"></select>'}
        <span class="alltalk-capability-note"></span>
    </div>`;
    return `<div class="form-row">
        ${label(ns, field, 'user', 'voice')}
        <input type="text" id="node-input-${field}" class="alltalk-voice-picker${typed ? '' : ' alltalk-with-button'}"${width ? ` style="width: ${width}"` : ''} data-i18n="[placeholder]${ns}.${placeholder}">${typeField}
        <button type="button" class="red-ui-button red-ui-button-small alltalk-preview" id="${ns}-preview" data-i18n="[title]${ns}.label.preview"><i class="fa fa-play"></i></button>
        <span class="alltalk-capability-note"></span>
    </div>${lang}`;
  },

  /** Where the audio goes; for a file, its path and whether missing folders are made; the audio cache. */
  outputRows({ ns, options, filePathIcon = 'file-audio-o' }) {
    const opts = ['', ...options].map((v) => `<option value="${esc(v)}" data-i18n="${ns}.output.${v || 'default'}"></option>`).join('\n            ');
    return `<div class="form-row">
        ${label(ns, 'output', 'sign-out', 'output')}
        <select id="node-input-output" class="alltalk-wide">
            ${opts}
        </select>
    </div>
    <div class="form-row" id="${ns}-file-row">
        ${label(ns, 'filePath', filePathIcon, 'filePath')}
        <input type="text" id="node-input-filePath" class="alltalk-wide" data-i18n="[placeholder]${ns}.placeholder.filePath">
    </div>
    ${checkRow(ns, 'createFolders', 'createFolders', `${ns}-folders-row`)}
    ${checkRow(ns, 'cache', 'cache')}`;
  },

  /**
   * The start of a section of the dialog: a heading that folds it. `fold`: "open" (shown at
   * first), "auto" (folded while nothing in it is set). Ends with sectionEnd.
   */
  sectionStart({ ns, key, fold = 'auto' }) {
    return `<div class="alltalk-section" data-fold="${fold}">
    <div class="form-row alltalk-section-head">
        <a href="#" class="alltalk-section-toggle"><i class="fa fa-angle-down"></i> <span data-i18n="${ns}.section.${key}"></span></a>
        <span class="alltalk-section-summary"></span>
    </div>
    <div class="alltalk-section-body">`;
  },

  sectionEnd() {
    return '</div>\n</div>';
  },
};

/** The html with every `<!-- alltalk:rows name {json} -->` replaced by its rows. */
function expandRows(html, where) {
  return html.replace(/<!-- alltalk:rows (\w+)(?: (\{[^]*?\}))? -->/g, (_all, name, json) => {
    const make = ROWS[name];
    if (!make) throw new Error(`${where}: there are no shared rows named ${name}`);
    let params;
    try {
      params = json ? JSON.parse(json) : {};
    } catch (err) {
      throw new Error(`${where}: the parameters of ${name} are not JSON: ${err.message}`);
    }
    return make(params);
  });
}

module.exports = { expandRows, ROWS };
