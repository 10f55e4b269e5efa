'use strict';
// What a user sees go wrong in a dialog's layout, measured in the browser (not a spec file):
// a label whose text runs out of its box or wraps onto a second line (the icon alone on the first),
// a row whose parts drop onto a second line, an option of a select, a button or a typed value's
// text cut off at the edge of its box, anything sticking out of the dialog's right edge.

/**
 * Runs in the page: the layout problems of the visible form rows under `rootSelector`, as
 * sentences that name the row ("label 'Erzählerstimme' wraps onto 2 lines").
 */
function findProblems(rootSelector) {
  // The topmost dialog's form, unless a selector is given.
  const trays = document.querySelectorAll('.red-ui-tray');
  const root = rootSelector ? document.querySelector(rootSelector) : trays.length && trays[trays.length - 1].querySelector('.red-ui-tray-body form');
  if (!root) return [`no ${rootSelector || 'open dialog'} on the page`];
  const problems = [];
  const visible = (el) => {
    if (!el || el.offsetParent === null) return false;
    const s = getComputedStyle(el);
    return s.visibility !== 'hidden' && s.display !== 'none' && el.getClientRects().length > 0;
  };
  const text = (el) => (el.innerText || el.textContent || '').replace(/\s+/g, ' ').trim();
  const nameOf = (row) => {
    const label = row.querySelector('label');
    const t = label && text(label);
    return t || text(row).slice(0, 40) || row.id || row.className;
  };
  const canvas = document.createElement('canvas').getContext('2d');
  const widthOf = (s, el) => {
    const cs = getComputedStyle(el);
    canvas.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    return canvas.measureText(s).width;
  };
  const lineHeight = (el) => {
    const cs = getComputedStyle(el);
    const lh = parseFloat(cs.lineHeight);
    return Number.isFinite(lh) ? lh : parseFloat(cs.fontSize) * 1.25;
  };
  const edge = root.getBoundingClientRect().right;
  for (const row of root.querySelectorAll('.form-row')) {
    if (!visible(row) || row.classList.contains('alltalk-multiline')) continue;
    const name = nameOf(row);
    // Labels: one line, the whole text inside the box.
    for (const label of row.querySelectorAll('label')) {
      if (!visible(label) || !text(label)) continue;
      if (label.scrollWidth > label.clientWidth + 1) problems.push(`label '${text(label)}' runs out of its box (${label.scrollWidth} > ${label.clientWidth} px)`);
      const lines = Math.round(label.getBoundingClientRect().height / lineHeight(label));
      if (lines > 1) problems.push(`label '${text(label)}' wraps onto ${lines} lines`);
    }
    // The row's parts on one line: the inline ones (a block is on a line of its own by design).
    const parts = Array.from(row.children).filter((c) => visible(c) && c.getBoundingClientRect().width > 0 && !['block', 'list-item', 'table'].includes(getComputedStyle(c).display));
    if (parts.length > 1) {
      const first = parts[0].getBoundingClientRect();
      for (const p of parts.slice(1)) {
        const r = p.getBoundingClientRect();
        if (r.top >= first.bottom - 2) {
          problems.push(`row '${name}': ${p.tagName.toLowerCase()}${p.id ? '#' + p.id : ''} '${text(p).slice(0, 30)}' drops onto a second line`);
          break;
        }
      }
    }
    // Option texts of a select fit its box (the arrow takes about 24 px).
    for (const select of row.querySelectorAll('select')) {
      if (!visible(select)) continue;
      const room = select.clientWidth - 24;
      for (const o of select.options) {
        // Node-RED's own "add new configuration" entry of a configuration select: its words, not ours.
        if (o.value === '_ADD_') continue;
        const w = widthOf(o.textContent.trim(), select);
        if (w > room) problems.push(`row '${name}': option '${o.textContent.trim()}' is cut (${Math.round(w)} > ${room} px)`);
      }
    }
    // Buttons and text spans keep their words inside.
    for (const el of row.querySelectorAll('button, .red-ui-typedInput-option-label, .red-ui-typedInput-type-label')) {
      if (!visible(el)) continue;
      if (el.scrollWidth > el.clientWidth + 1) problems.push(`row '${name}': '${text(el)}' is cut in its box`);
    }
    for (const el of row.querySelectorAll('*')) {
      if (!visible(el) || el.closest('.red-ui-editableList-container')) continue;
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > edge + 1) {
        problems.push(`row '${name}': ${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} sticks out of the dialog by ${Math.round(r.right - edge)} px`);
        break;
      }
    }
  }
  // Links (an "advanced" toggle) stay on one line.
  for (const a of root.querySelectorAll('a')) {
    if (!visible(a) || !text(a)) continue;
    const lines = Math.round(a.getBoundingClientRect().height / lineHeight(a));
    if (lines > 1) problems.push(`link '${text(a)}' wraps onto ${lines} lines`);
  }
  return problems;
}

/** Node-RED opens a dialog 500 px wide unless something in it cannot be narrower. */
const DEFAULT_DIALOG_WIDTH = 500;

/**
 * The layout problems of the topmost dialog's form, with one more: a dialog that opened wider than
 * Node-RED's default because something in it would not wrap (its widest culprits named).
 */
async function dialogProblems(page) {
  const problems = await page.evaluate(findProblems, '');
  const wide = await page.evaluate((limit) => {
    const trays = document.querySelectorAll('.red-ui-tray');
    const tray = trays[trays.length - 1];
    const width = Math.round(tray.getBoundingClientRect().width);
    if (width <= limit + 2) return undefined;
    // What keeps it wide: the elements whose own content is wider than the room a 500 px dialog leaves.
    const culprits = [];
    for (const el of tray.querySelectorAll('.red-ui-tray-body form *')) {
      if (el.offsetParent === null || el.children.length > 3) continue;
      const r = el.getBoundingClientRect();
      if (r.right - tray.getBoundingClientRect().left > limit - 10) culprits.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} '${(el.innerText || '').trim().slice(0, 40)}'`);
    }
    return `the dialog opened ${width} px wide, not ${limit}: ${culprits.slice(0, 4).join(', ')}`;
  }, DEFAULT_DIALOG_WIDTH);
  return wide ? [wide, ...problems] : problems;
}

/** Palette entries of the AllTalk category whose label wraps or is cut. */
function paletteProblems(page) {
  return page.evaluate(() => {
    const out = [];
    for (const node of document.querySelectorAll('.red-ui-palette-node[data-palette-type^="alltalk-"]')) {
      const label = node.querySelector('.red-ui-palette-label');
      const cs = getComputedStyle(label);
      const lines = Math.round(label.getBoundingClientRect().height / parseFloat(cs.lineHeight || '0'));
      if (lines > 1) out.push(`palette '${label.textContent.trim()}' wraps onto ${lines} lines`);
      if (label.scrollWidth > label.clientWidth + 1) out.push(`palette '${label.textContent.trim()}' is cut`);
    }
    return out;
  });
}

module.exports = { dialogProblems, paletteProblems, findProblems };
