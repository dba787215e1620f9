// @ts-check
/**
 * The report page's first script, inlined in its head by `page.ts`: counts errors from the very
 * start, so a failure of the charting library is reported too, into `window.__reportErrors` and
 * `#render-status`'s `data-errors`. A blocked resource (the page's policy allows none) counts as
 * an error, so a test sees any attempt to load one.
 *
 * A classic browser script, type-checked (its DOM typed in `page_dom.d.ts`) and linted like
 * `page_script.js`. Private to `tools/report/`.
 */
(function () {
  /** @type {string[]} */
  const errs = [];
  const win = /** @type {import("./page_dom.d.ts").PageGlobals} */ (
    /** @type {unknown} */ (globalThis)
  );
  win.__reportErrors = errs;
  /** @param {string} m */
  function count(m) {
    errs.push(m);
    const s = win.document.getElementById("render-status");
    if (s) s.setAttribute("data-errors", String(errs.length));
  }
  globalThis.addEventListener("error", function (e) {
    count(String(e.message || e));
  });
  win.document.addEventListener("securitypolicyviolation", function (e) {
    count("blocked by the page policy: " + e.blockedURI);
  });
})();
