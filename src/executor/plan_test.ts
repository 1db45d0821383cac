import assert from "node:assert/strict";
import { type Graph, type Node, sizeOf, type TensorType } from "../graph/types.ts";
import { seededRandom } from "../testing/random.ts";
import { type ExecutionPlan, planExecution, type PlanOptions } from "./plan.ts";

const isView = (node: Node) => node.op === "View";
const f32 = (...shape: number[]): TensorType => ({ dtype: "f32", shape });

/** A graph plus the types of its values, built node by node. */
class GraphBuilder {
  graph: Graph = { name: "g", nodes: [], inputs: [], outputs: [], initializers: new Map() };
  types = new Map<string, TensorType>();

  input(name: string, type: TensorType): string {
    this.graph.inputs.push({ name, ...type });
    this.types.set(name, type);
    return name;
  }

  node(op: string, inputs: string[], outputs: TensorType[]): string[] {
    const name = `n${this.graph.nodes.length}`;
    const names = outputs.map((_, i) => `${name}_y${i}`);
    this.graph.nodes.push({ name, op, inputs, outputs: names, attrs: {} });
    names.forEach((n, i) => this.types.set(n, outputs[i]));
    return names;
  }

  output(name: string): void {
    this.graph.outputs.push({ name, ...this.types.get(name)! });
  }

  plan(options: PlanOptions = {}): ExecutionPlan {
    return planExecution(this.graph, this.types, { isView, ...options });
  }
}

/** A random DAG: ops read 1-3 earlier values, some are views, some have scratch. */
function randomGraph(seed: number) {
  const rand = seededRandom(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const b = new GraphBuilder();
  const available = [b.input("x", f32(1 + Math.floor(rand() * 3000)))];
  if (rand() < 0.5) available.push(b.input("x2", f32(1 + Math.floor(rand() * 3000))));
  const scratch = new Map<string, number[]>();
  const count = 3 + Math.floor(rand() * 40);
  for (let i = 0; i < count; i++) {
    const recent = available.slice(-4);
    if (rand() < 0.15) {
      const source = pick(recent);
      const n = sizeOf(b.types.get(source)!.shape);
      available.push(b.node("View", [source], [f32(1, n)])[0]);
      continue;
    }
    const inputs = Array.from(
      { length: 1 + Math.floor(rand() * 3) },
      () => rand() < 0.7 ? pick(recent) : pick(available),
    );
    const outputs = Array.from(
      { length: rand() < 0.8 ? 1 : 2 },
      () => f32(1 + Math.floor(rand() * 5000)),
    );
    if (rand() < 0.2) scratch.set(`n${b.graph.nodes.length}`, [1 + Math.floor(rand() * 999)]);
    available.push(...b.node("Op", inputs, outputs));
  }
  b.output(available[available.length - 1]);
  if (rand() < 0.5) b.output(pick(available.slice(0, -1)));
  return { b, scratch };
}

/** Storage lifetimes recomputed from the graph alone: [first write, last read]. */
function requiredLifetimes(graph: Graph, plan: ExecutionPlan): Map<string, [number, number]> {
  const life = new Map<string, [number, number]>();
  const touch = (name: string, step: number) => {
    const id = plan.values.get(name)!.storage;
    const [lo, hi] = life.get(id) ?? [step, step];
    life.set(id, [Math.min(lo, step), Math.max(hi, step)]);
  };
  graph.nodes.forEach((node, step) => {
    node.inputs.forEach((name) => touch(name, step));
    node.outputs.forEach((name) => touch(name, step));
    for (const id of plan.scratch.get(node.name)!) life.set(id, [step, step]);
  });
  for (const output of graph.outputs) touch(output.name, graph.nodes.length);
  return life;
}

/** Checks every invariant of a plan; returns nothing, throws on the first violation. */
function checkPlan(graph: Graph, plan: ExecutionPlan, alignment: number, maxArenaBytes: number) {
  const life = requiredLifetimes(graph, plan);
  const arena = [...plan.storages.values()].filter((s) => s.kind === "arena");
  for (const s of arena) {
    assert.equal(s.offset! % alignment, 0, `${s.id} offset ${s.offset} is not aligned`);
    assert.ok(s.offset! + s.bytes <= plan.arenaBytes[s.arena!], `${s.id} overflows its arena`);
    const [lo, hi] = life.get(s.id) ?? [s.defStep, s.defStep];
    assert.ok(s.defStep <= lo && hi <= s.lastUse, `${s.id} lifetime is too short`);
  }
  for (const size of plan.arenaBytes) assert.ok(size <= maxArenaBytes, `arena of ${size} bytes`);
  for (const a of arena) {
    for (const b of arena) {
      if (a === b || a.arena !== b.arena) continue;
      const [aLo, aHi] = life.get(a.id) ?? [a.defStep, a.defStep];
      const [bLo, bHi] = life.get(b.id) ?? [b.defStep, b.defStep];
      const together = aLo <= bHi && bLo <= aHi;
      const overlap = a.offset! < b.offset! + b.bytes && b.offset! < a.offset! + a.bytes;
      assert.ok(!(together && overlap), `${a.id} and ${b.id} overlap while both live`);
    }
  }
  graph.nodes.forEach((node, step) => {
    const storageOf = (name: string) => plan.storages.get(plan.values.get(name)!.storage)!;
    if (plan.isView[step]) {
      assert.equal(plan.values.get(node.outputs[0])!.storage, storageOf(node.inputs[0]).id);
      return;
    }
    const reads = node.inputs.map(storageOf);
    const writes = [
      ...node.outputs.map(storageOf),
      ...plan.scratch.get(node.name)!.map((id) => plan.storages.get(id)!),
    ];
    for (const r of reads) {
      for (const w of writes) {
        if (r.kind === "arena" && w.kind === "arena") {
          assert.notEqual(r.arena, w.arena, `${node.name} reads and writes arena ${r.arena}`);
        }
      }
    }
  });
  for (const output of graph.outputs) {
    const storage = plan.storages.get(plan.values.get(output.name)!.storage)!;
    assert.notEqual(storage.kind, "arena", `graph output ${output.name} is in the arena`);
  }
  assert.ok(plan.memory.lowerBoundBytes <= plan.memory.plannedBytes);
}

Deno.test("plan: live values never overlap, on 300 random DAGs", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const { b, scratch } = randomGraph(seed);
    const maxArenaBytes = seed % 3 === 0 ? 24_576 : Infinity;
    const plan = b.plan({ scratch, maxArenaBytes });
    try {
      checkPlan(b.graph, plan, 256, maxArenaBytes);
    } catch (err) {
      throw new Error(`seed ${seed}: ${(err as Error).message}`);
    }
  }
});

Deno.test("plan: a view shares its source's storage and keeps it alive", () => {
  const b = new GraphBuilder();
  const x = b.input("x", f32(4, 8));
  const [a] = b.node("Op", [x], [f32(4, 8)]);
  const [v] = b.node("View", [a], [f32(32)]);
  const [c] = b.node("Op", [x], [f32(32)]);
  const [d] = b.node("Op", [v, c], [f32(32)]);
  b.output(d);
  const plan = b.plan();
  assert.equal(plan.values.get(v)!.storage, a);
  assert.equal(plan.storages.get(a)!.lastUse, 3);
  assert.deepEqual(plan.isView, [false, true, false, false]);
  checkPlan(b.graph, plan, 256, Infinity);
});

Deno.test("plan: graph outputs and their view sources get dedicated storage", () => {
  const b = new GraphBuilder();
  const x = b.input("x", f32(10));
  const [a] = b.node("Op", [x], [f32(10)]);
  const [v] = b.node("View", [a], [f32(2, 5)]);
  b.output(v);
  const plan = b.plan();
  assert.equal(plan.storages.get(a)!.kind, "output");
  assert.equal(plan.storages.get(x)!.kind, "input");
  assert.deepEqual(plan.arenaBytes, []);
  assert.equal(plan.memory.plannedBytes, 0);
});

Deno.test("plan: a chain reuses two arena buffers and meets the lower bound", () => {
  const b = new GraphBuilder();
  let v = b.input("x", f32(1000));
  for (let i = 0; i < 10; i++) [v] = b.node("Op", [v], [f32(1000 + (i % 2) * 24)]);
  b.output(v);
  const plan = b.plan();
  assert.equal(plan.arenaBytes.length, 2);
  assert.equal(plan.memory.lowerBoundBytes, 4000 + 4096);
  assert.equal(plan.memory.plannedBytes, plan.memory.lowerBoundBytes);
});

Deno.test("plan: a value larger than the arena limit is a clear error", () => {
  const b = new GraphBuilder();
  const [a] = b.node("Op", [b.input("x", f32(8))], [f32(100)]);
  b.output(b.node("Op", [a], [f32(8)])[0]);
  assert.throws(() => b.plan({ maxArenaBytes: 256 }), /"n0_y0" needs 400 bytes.*256 bytes/);
});

Deno.test("plan: nodes out of order are rejected", () => {
  const b = new GraphBuilder();
  const [a] = b.node("Op", [b.input("x", f32(8))], [f32(8)]);
  b.output(b.node("Op", [a], [f32(8)])[0]);
  b.graph.nodes.reverse();
  assert.throws(() => b.plan(), /Node "n1" uses "n0_y0" before it is produced/);
});

/** ResNet-18 at 224x224 with unfused Conv, BatchNormalization, Relu and Add nodes. */
function resnet18(batch: number): GraphBuilder {
  const b = new GraphBuilder();
  let x = b.input("data", f32(batch, 3, 224, 224));
  const map = (c: number, hw: number) => f32(batch, c, hw, hw);
  const convBn = (v: string, c: number, hw: number, relu: boolean) => {
    let [y] = b.node("Conv", [v], [map(c, hw)]);
    [y] = b.node("BatchNormalization", [y], [map(c, hw)]);
    return relu ? b.node("Relu", [y], [map(c, hw)])[0] : y;
  };
  x = convBn(x, 64, 112, true);
  [x] = b.node("MaxPool", [x], [map(64, 56)]);
  let hw = 56;
  for (const [stage, c] of [64, 128, 256, 512].entries()) {
    for (let block = 0; block < 2; block++) {
      const down = stage > 0 && block === 0;
      if (down) hw /= 2;
      const skip = down ? convBn(x, c, hw, false) : x;
      const body = convBn(convBn(x, c, hw, true), c, hw, false);
      [x] = b.node("Add", [body, skip], [map(c, hw)]);
      [x] = b.node("Relu", [x], [map(c, hw)]);
    }
  }
  [x] = b.node("GlobalAveragePool", [x], [map(512, 1)]);
  [x] = b.node("View", [x], [f32(batch, 512)]);
  [x] = b.node("Gemm", [x], [f32(batch, 1000)]);
  b.output(x);
  return b;
}

// The lower bound ignores that a node's inputs and outputs need different arena buffers. In
// ResNet-18 a basic block with an identity skip is an odd cycle of conflicts, so a third
// buffer as large as a stage-1 activation is unavoidable: 3.2 + 3.2 + 0.8 MB against a bound
// of 6.4 MB at batch 1 (x1.125). A plan above x1.25 would be wasting memory.
Deno.test("plan: ResNet-18 shapes plan within 25% of the lower bound", () => {
  for (const batch of [1, 4]) {
    const b = resnet18(batch);
    const plan = b.plan();
    checkPlan(b.graph, plan, 256, Infinity);
    const { plannedBytes, lowerBoundBytes } = plan.memory;
    const naive = [...plan.storages.values()]
      .filter((s) => s.kind === "arena")
      .reduce((sum, s) => sum + s.bytes, 0);
    console.log(
      `ResNet-18 batch ${batch}: planned ${plannedBytes} B in ${plan.arenaBytes.length} ` +
        `buffers, lower bound ${lowerBoundBytes} B (x${
          (plannedBytes / lowerBoundBytes).toFixed(3)
        }), no reuse ${naive} B`,
    );
    assert.ok(plannedBytes <= 1.25 * lowerBoundBytes, `planned ${plannedBytes} B`);
  }
});
