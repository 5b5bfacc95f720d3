// Draws the dashboard's charts: each figure's Vega-Lite spec (JSON in the picture's
// data-chart-spec attribute, written by the server) rendered by vega-embed as SVG. Under the page's CSP: expressions are interpreted, never
// compiled (vega-interpreter, `ast`), and vega-embed adds no <style> (no actions menu, no
// tooltip plug-in, no default style). The text alternative and the table are in the page
// already; a chart that cannot be drawn leaves them as they are.
import { expressionInterpreter } from "vega-interpreter";

const OPTIONS = {
  ast: true,
  expr: expressionInterpreter,
  actions: false,
  tooltip: false,
  defaultStyle: false,
  renderer: "svg",
};

function draw(root) {
  if (typeof window.vegaEmbed !== "function") return;
  for (const holder of root.querySelectorAll("[data-chart-spec]")) {
    if (holder.dataset.drawn) continue;
    holder.dataset.drawn = "drawing";
    window
      .vegaEmbed(holder, JSON.parse(holder.dataset.chartSpec), OPTIONS)
      .then(() => {
        holder.dataset.drawn = "yes";
      })
      .catch((error) => {
        holder.dataset.drawn = "failed";
        console.error("Chart not drawn:", error);
      });
  }
}

draw(document);
// After htmx swaps the results in (the swapped element is new: draw whatever is not drawn).
document.body.addEventListener("htmx:afterSettle", () => draw(document));
