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

/** The inline styles the scripts set. */
export interface PageStyle {
  border: string;
  background: string;
  width: string;
  height: string;
}

/** The parts of an element the scripts use. */
export interface PageElement {
  textContent: string | null;
  className: string;
  clientWidth: number;
  style: PageStyle;
  classList: { add(name: string): void; toggle(name: string, force?: boolean): boolean };
  appendChild(child: PageElement | PageCanvasElement): PageElement | PageCanvasElement;
  querySelector(selector: "canvas"): PageCanvas | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  setAttribute(name: string, value: string): void;
}

/** A 2D drawing context, as far as the legend samples use it. */
export interface PageContext2D {
  scale(x: number, y: number): void;
  strokeStyle: string;
  fillStyle: string;
  lineWidth: number;
  setLineDash(segments: number[]): void;
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  arc(x: number, y: number, r: number, start: number, end: number): void;
  stroke(): void;
  fillRect(x: number, y: number, w: number, h: number): void;
}

/** A canvas the scripts create (legend samples). */
export interface PageCanvasElement {
  width: number;
  height: number;
  style: PageStyle;
  getContext(kind: "2d"): PageContext2D | null;
}

/** The parts of the document the scripts use. */
export interface PageDocument {
  getElementById(id: string): PageElement | null;
  createElement(tag: "div"): PageElement;
  createElement(tag: "canvas"): PageCanvasElement;
  documentElement: { scrollHeight: number; scrollWidth: number; clientWidth: number };
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
  /** Device pixels per CSS pixel (canvases draw at this scale). */
  devicePixelRatio: number;
  /** The charting library, a global of its IIFE build, inlined before `page_script.js`. */
  uPlot: typeof uPlot;
}
