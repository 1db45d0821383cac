import assert from "node:assert/strict";
import { type BarChart, escapeXml, renderBarChart } from "./chart.ts";

const chart: BarChart = {
  title: "Models <&> runtimes",
  notes: ['machine "x"'],
  panels: ["steady", "cold"],
  groups: [
    {
      label: "m1",
      bars: [
        { label: "fast", values: [10, 100] },
        { label: "slow", values: [40, 50] },
      ],
    },
    {
      label: "m2",
      bars: [
        { label: "slow", values: [5, 5] },
        { label: "fast", values: [undefined, undefined], note: "skipped: no kernel" },
      ],
    },
  ],
};

/** The bars (rects with a fill other than the white background) with their widths. */
function bars(svg: string): { width: number; fill: string }[] {
  return [...svg.matchAll(/<rect x="[^"]+" y="[^"]+" width="([^"]+)" height="\d+" fill="([^"]+)"/g)]
    .map((m) => ({ width: Number(m[1]), fill: m[2] }));
}

Deno.test("renderBarChart draws one bar per value, scaled per group and panel", () => {
  const svg = renderBarChart(chart);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="1000" height="\d+"/);
  assert.ok(svg.trimEnd().endsWith("</svg>"));
  const drawn = bars(svg);
  // m1: fast [10, 100], slow [40, 50]; m2: slow [5, 5]; the skipped bar draws nothing.
  assert.equal(drawn.length, 6);
  const [fastSteady, fastCold, slowSteady, slowCold, m2Steady, m2Cold] = drawn.map((b) => b.width);
  // The largest value of a group's panel gets the full length; the others are proportional.
  assert.equal(slowSteady, m2Steady);
  assert.equal(fastCold, m2Cold);
  assert.ok(Math.abs(fastSteady / slowSteady - 10 / 40) < 0.01, `${fastSteady} / ${slowSteady}`);
  assert.ok(Math.abs(slowCold / fastCold - 50 / 100) < 0.01, `${slowCold} / ${fastCold}`);
  // A series keeps its colour across groups.
  assert.equal(drawn[2].fill, drawn[4].fill);
  assert.notEqual(drawn[0].fill, drawn[2].fill);
  assert.equal(svg.split("skipped: no kernel").length - 1, 2);
});

Deno.test("renderBarChart escapes text and rejects bars with the wrong number of values", () => {
  const svg = renderBarChart(chart);
  assert.ok(svg.includes(`Models ${escapeXml("<&>")} runtimes`));
  assert.ok(!svg.includes("<&>"));
  assert.equal(escapeXml(`a<b>&"'`), "a&#60;b&#62;&#38;&#34;&#39;");
  const bad = { ...chart, groups: [{ label: "m", bars: [{ label: "r", values: [1] }] }] };
  assert.throws(() => renderBarChart(bad), /Bar "r" of "m" has 1 values for 2 panels/);
});
