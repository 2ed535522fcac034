// The demo page (web/index.html) in a fresh browser context, connected as
// `name` with `conversation` filled in; `query` is added to the URL (for
// example '?relay').
'use strict';
const { until } = require('./browser');

async function openDemo(browser, url, { name, conversation, query = '' }) {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (e) => console.log(`${name} page error: ${e.message}`));
  await page.goto(`${url}/${query}`);
  await page.fill('#token', name);
  await page.fill('#conversation', conversation);
  await page.click('#connect');
  await until(() => page.textContent('#status').then((s) => s.startsWith('connected')), `${name} connects`);
  return page;
}

module.exports = { openDemo };
