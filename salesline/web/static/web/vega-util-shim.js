// vega-interpreter imports three helpers from vega-util; vega's browser build (loaded before
// this module) carries them, so the page loads one copy of vega-util, not its 100 ES modules.
const { ascending, isString, DisallowedObjectProperties } = window.vega;
export { ascending, isString, DisallowedObjectProperties };
