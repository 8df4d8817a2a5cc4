// GraphiQL as a developer uses it, in Debian's headless Chromium with no network beyond the
// service: the page loads from the service alone, the docs list Query and Mutation, and a
// register followed by `{ me { email } }` with an Authorization header answers the email.
import { chromium } from 'playwright-core';

const base = process.argv[2];
const fail = (why) => {
  console.log(`GraphiQL check failed: ${why}`);
  process.exit(1);
};

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext();
const foreign = [];
await context.route('**/*', (route) => {
  const url = new URL(route.request().url());
  if (url.origin === new URL(base).origin) return route.continue();
  foreign.push(url.href);
  return route.abort();
});
const page = await context.newPage();
const violations = [];
page.on('console', (message) => {
  if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
});
try {
  await page.goto(`${base}/graphql`, { waitUntil: 'load' });
  await page.waitForSelector('.graphiql-container', { timeout: 20000 });

  // The docs pane, from the standard introspection query at the default limits.
  await page.click('button[aria-label="Show Documentation Explorer"]');
  await page.waitForSelector('.graphiql-doc-explorer', { timeout: 20000 });
  const docs = await page.textContent('.graphiql-doc-explorer');
  for (const root of ['Query', 'Mutation']) if (!docs.includes(root)) fail(`the docs pane does not list ${root}`);

  const editor = (selector, text) =>
    page.evaluate(([selector, text]) => document.querySelector(`${selector} .CodeMirror`).CodeMirror.setValue(text), [selector, text]);
  const run = async () => {
    const before = await page.textContent('.result-window');
    await page.click('.graphiql-execute-button');
    await page.waitForFunction((before) => {
      const text = document.querySelector('.result-window')?.textContent ?? '';
      return text !== before && text.includes('}');
    }, before, { timeout: 20000 });
    return page.textContent('.result-window');
  };

  const email = `browser-${Date.now()}@example.com`;
  await editor('.graphiql-query-editor', `mutation { register(input: { email: "${email}", firstName: "Brow", lastName: "Ser", password: "correct-horse-battery", passwordConfirmation: "correct-horse-battery" }) { token errors { code } } }`);
  const registered = await run();
  const token = /"token":\s*"([^"]+)"/.exec(registered)?.[1];
  if (!token) fail(`register answered no token: ${registered}`);

  await page.click('.graphiql-editor-tools button:has-text("Headers")').catch(() => {});
  await editor('.graphiql-editor-tool .graphiql-editor:not(.hidden)', JSON.stringify({ Authorization: `Bearer ${token}` }));
  await editor('.graphiql-query-editor', '{ me { email } }');
  const me = await run();
  if (!me.includes(email)) fail(`me did not answer the email: ${me}`);

  if (foreign.length) fail(`the page asked for other origins: ${foreign.join(', ')}`);
  if (violations.length) fail(`the page broke its Content-Security-Policy: ${violations.join(' | ')}`);
  console.log('GraphiQL check: page, docs (Query, Mutation), register and me with a header all work offline');
} catch (err) {
  await page.screenshot({ path: 'graphiql-failure.png' }).catch(() => {});
  fail(err.message);
} finally {
  await browser.close();
}
