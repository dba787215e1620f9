/**
 * The browser features the report page's scripts (`page_errors.js`, `page_script.js`) use,
 * typed for the type checker. Only these: the DOM library would retype the whole project for a
 * browser, since `deno check .` checks every file as one program. Types only, never run.
 * Private to `tools/report/`.
 *
 * @internal
 * @module
 */
import type uPlot from "uplot";

/** A chart canvas, as far as the page checks it was drawn. */
export interface PageCanvas {
  width: number;
  height: number;
  getBoundingClientRect(): { width: number };
}

/** The parts of an element the scripts use. */
export interface PageElement {
  textContent: string | null;
  className: string;
  clientWidth: number;
  classList: { add(name: string): void; toggle(name: string, force?: boolean): boolean };
  appendChild(child: PageElement): PageElement;
  querySelector(selector: "canvas"): PageCanvas | null;
  setAttribute(name: string, value: string): void;
}

/** The parts of the document the scripts use. */
export interface PageDocument {
  getElementById(id: string): PageElement | null;
  createElement(tag: "div"): PageElement;
  documentElement: { scrollHeight: number };
  addEventListener(
    type: "securitypolicyviolation",
    listener: (e: { blockedURI: string }) => void,
  ): void;
}

/** The page's global object (`window`), as the scripts see it. */
export interface PageGlobals {
  document: PageDocument;
  /** Errors counted since the page began (`page_errors.js`); the browser test reads the count. */
  __reportErrors: string[];
  /** The charting library, a global of its IIFE build, inlined before `page_script.js`. */
  uPlot: typeof uPlot;
}
