'use strict';
// What a user does in the editor, as playwright steps (not a spec file): drag a node from the
// palette, open its dialog, add a server, read the sidebar help, take a screenshot of a dialog.
const fs = require('node:fs');
const path = require('node:path');

/** Drags `type` from the palette onto the workspace at (x, y); resolves the new node's id. */
async function dropNode(page, type, x, y) {
  const before = await page.evaluate((t) => RED.nodes.filterNodes({ type: t }).map((n) => n.id), type);
  const item = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
  await item.scrollIntoViewIfNeeded();
  await item.dragTo(page.locator('#red-ui-workspace-chart'), { targetPosition: { x, y } });
  const id = await page.evaluate(({ t, known }) => {
    const added = RED.nodes.filterNodes({ type: t }).find((n) => !known.includes(n.id));
    return added && added.id;
  }, { t: type, known: before });
  if (!id) throw new Error(`dragging ${type} from the palette added no node`);
  return id;
}

/** Adds nodes as an import would (not deployed); resolves their new ids in the same order. */
async function importNodes(page, nodes) {
  return page.evaluate((list) => {
    RED.view.importNodes(list, { generateIds: false, addFlow: false, touchImport: true, notify: false });
    RED.view.redraw(true);
    return list.map((n) => n.id);
  }, nodes);
}

/** The default values of a node type's properties, as a node dragged from the palette has them. */
function defaultsOf(page, type) {
  return page.evaluate((t) => {
    const defs = RED.nodes.getType(t).defaults;
    return Object.fromEntries(Object.entries(defs).map(([k, d]) => [k, d.value]));
  }, type);
}

/** Double-clicks a node on the workspace and waits for its dialog. */
async function openDialog(page, id) {
  await page.evaluate((nodeId) => RED.view.reveal(nodeId), id);
  await page.dblclick(`[id="${id}"] rect.red-ui-flow-node`);
  await page.waitForSelector('.red-ui-tray .red-ui-tray-body', { state: 'visible' });
  await page.waitForSelector('#node-input-server', { state: 'attached' });
}

/** In an open dialog, adds a new server (never deployed) with the given port; Test connection first. */
async function addServer(page, { port, host = '127.0.0.1' }) {
  const add = (await page.$('#node-input-btn-server-add')) ? '#node-input-btn-server-add' : '#node-input-lookup-server';
  await page.click(add);
  await page.waitForSelector('#node-config-input-host', { state: 'visible' });
  await page.fill('#node-config-input-host', host);
  await page.fill('#node-config-input-port', String(port));
}

/** Clicks a dialog button of the topmost dialog and waits for that dialog to close. */
async function closeTray(page, which) {
  const buttons = { done: '#node-dialog-ok', cancel: '#node-dialog-cancel', add: '#node-config-dialog-ok', cancelConfig: '#node-config-dialog-cancel' };
  // A server dialog's fields are node-config-input-*, a node dialog's node-input-*.
  const gone = which === 'add' || which === 'cancelConfig' ? '#node-config-input-host' : '#node-input-server';
  await page.click(buttons[which]);
  await page.waitForSelector(gone, { state: 'detached' });
}

/** Cancels every open dialog (after a failed test, so the next one starts clean). */
async function cancelAll(page) {
  for (const button of ['#node-config-dialog-cancel', '#node-dialog-cancel']) {
    if (await page.isVisible(button).catch(() => false)) await page.click(button).catch(() => {});
    await page.waitForSelector(button, { state: 'detached', timeout: 5000 }).catch(() => {});
  }
}

/** Waits until the element's text matches `re`; resolves the text. */
async function textMatching(page, selector, re, what = selector) {
  try {
    await page.waitForFunction(({ s, source, flags }) => {
      const el = document.querySelector(s);
      return el && new RegExp(source, flags).test(el.textContent);
    }, { s: selector, source: re.source, flags: re.flags }, { timeout: 10000 });
  } catch {
    throw new Error(`${what} never matched ${re}: "${await page.textContent(selector).catch(() => '(missing)')}"`);
  }
  return page.textContent(selector);
}

/** The values of a <datalist> or <select>. */
function optionValues(page, selector) {
  return page.evaluate((s) => Array.from(document.querySelectorAll(`${s} option`)).map((o) => o.value), selector);
}

/** The values a <select> offers, or those of a typedInput's own type (its list of options). */
function choices(page, selector) {
  return page.evaluate((s) => {
    const el = $(s);
    if (!el.hasClass('red-ui-typedInput')) return Array.from(el[0].options).map((o) => o.value);
    const own = el.typedInput('instance').typeMap.str;
    return (own.options || []).map((o) => (typeof o === 'string' ? o : o.value));
  }, selector);
}

/** Whether Node-RED marks the input as invalid (its validator returned false). */
function invalid(page, selector) {
  return page.evaluate((s) => document.querySelector(s).classList.contains('input-error'), selector);
}

/** The input a user types into: a typedInput's own input for a field that is one, else the field. */
async function visibleInput(page, selector) {
  const typed = await page.$eval(selector, (el) => el.classList.contains('red-ui-typedInput'));
  return typed ? `${selector} + .red-ui-typedInput-container input.red-ui-typedInput-input` : selector;
}

/** Types a value into a field as a user would, then leaves it (validators run on change). */
async function typeInto(page, selector, value) {
  const target = await visibleInput(page, selector);
  await page.fill(target, value);
  await page.dispatchEvent(target, 'change');
}

/**
 * What a voice picker offers for `typed` (all of its voices for an empty field): it is opened as a
 * user does, with a click; resolves the texts of its entries and closes it again.
 */
async function pickerValues(page, selector, typed = '') {
  const target = await visibleInput(page, selector);
  await page.fill(target, typed);
  await page.click(target);
  if (typed) await page.press(target, 'End');
  const menu = page.locator('.red-ui-autoComplete-container:visible');
  await menu.waitFor({ state: 'visible' });
  const values = await menu.locator('li').allTextContents();
  await page.keyboard.press('Escape');
  await menu.waitFor({ state: 'detached' }).catch(() => {});
  return values.map((v) => v.trim());
}

/** The sidebar help of a node type, as text. */
async function sidebarHelp(page, type) {
  await page.evaluate((t) => RED.sidebar.help.show(t), type);
  await page.waitForFunction(() => {
    const el = document.querySelector('.red-ui-sidebar-help-stack .red-ui-help');
    return el && el.textContent.trim().length > 50;
  });
  return page.evaluate(() => document.querySelector('.red-ui-sidebar-help-stack .red-ui-help').textContent.replace(/\s+/g, ' '));
}

/** The msg properties a help file documents: the names in its <dt> entries. */
function documentedProperties(helpHtml) {
  const names = [];
  for (const m of helpHtml.matchAll(/<dt[^>]*>([\s\S]*?)<\/dt>/g)) {
    const name = m[1].replace(/<span[\s\S]*?<\/span>/g, '').replace(/<[^>]+>/g, '').trim();
    if (name) names.push(name);
  }
  return names;
}

/** Saves a screenshot of the topmost dialog (the whole editor when `whole`). */
async function screenshot(page, dir, name, { whole = false, keepFocus = false } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  // The pointer and the text caret would otherwise show in the picture (an open list keeps its field's focus).
  if (!keepFocus) {
    await page.mouse.move(1, 1);
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
  }
  if (whole) await page.screenshot({ path: file });
  else await page.locator('.red-ui-tray').last().screenshot({ path: file });
  return file;
}

module.exports = { dropNode, importNodes, defaultsOf, openDialog, addServer, closeTray, cancelAll, textMatching, optionValues, choices, invalid, typeInto, pickerValues, sidebarHelp, documentedProperties, screenshot };
