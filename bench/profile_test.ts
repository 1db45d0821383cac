import assert from "node:assert/strict";
import type { GpuDispatch } from "../src/executor/gpu_node_runner.ts";
import type { Node } from "../src/graph/types.ts";
import { groupByNode, kindRows, nodeKind } from "./profile.ts";

const node = (op: string, attrs: Node["attrs"] = {}): Node => ({
  name: "n",
  op,
  inputs: ["x", "w"],
  outputs: ["y"],
  attrs,
});

Deno.test("nodeKind names convs by kernel size, stride and depthwise; other ops by op", () => {
  const w = (shape: number[]) => ({ dtype: "f32" as const, shape });
  assert.equal(nodeKind(node("Conv"), w([64, 64, 3, 3])), "Conv 3x3");
  assert.equal(nodeKind(node("Conv", { strides: [2, 2] }), w([64, 3, 7, 7])), "Conv 7x7/2x2");
  assert.equal(nodeKind(node("Conv", { group: 32 }), w([32, 1, 3, 3])), "Conv 3x3 dw");
  assert.equal(nodeKind(node("MaxPool"), undefined), "MaxPool");
});

Deno.test("kindRows sums nodes per kind, slowest kind first, with shares of the total", () => {
  const rows = kindRows([
    { node: "a", kind: "Conv 1x1", programs: [], ms: 1 },
    { node: "b", kind: "Conv 3x3", programs: [], ms: 4 },
    { node: "c", kind: "Conv 1x1", programs: [], ms: 5 },
  ]);
  assert.deepEqual(rows, [["Conv 1x1", "2", "6.00", "60%"], ["Conv 3x3", "1", "4.00", "40%"]]);
});

Deno.test("groupByNode keeps each node's dispatches together in first-seen order", () => {
  const d = (n: string, program: string) => ({ node: n, program }) as GpuDispatch;
  const groups = groupByNode([d("a", "p1"), d("b", "p2"), d("a", "p3")]);
  assert.deepEqual([...groups.keys()], ["a", "b"]);
  assert.deepEqual(groups.get("a")!.map((x) => x.program), ["p1", "p3"]);
});
