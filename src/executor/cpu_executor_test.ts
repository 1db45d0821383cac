import assert from "node:assert/strict";
import { InputMismatchError } from "../graph/shape_inference.ts";
import type { Node, Tensor } from "../graph/types.ts";
import { opFor } from "../ops/registry.ts";
import { randomInputs, residualGraph, wrap } from "./_testing.ts";
import { CpuSession } from "./cpu_executor.ts";
import { runReference } from "./reference.ts";

Deno.test("CpuSession matches the reference interpreter at batch 1 and 3", async () => {
  const graph = residualGraph();
  for (const batch of [1, 3]) {
    const session = new CpuSession(graph, { batch });
    for (const seed of [1, 2]) {
      const inputs = randomInputs(graph, batch, seed);
      const actual = await session.run(inputs);
      const expected = runReference(graph, inputs);
      assert.deepEqual(Object.keys(actual), ["y", "f"]);
      for (const name of ["y", "f"]) {
        assert.deepEqual(actual[name].shape, expected[name].shape);
        assert.deepEqual(actual[name].data, expected[name].data, `${name} at batch ${batch}`);
      }
    }
  }
});

Deno.test("CpuSession rejects inputs that do not match the batch it was made for", async () => {
  const graph = residualGraph();
  const session = new CpuSession(graph, { batch: 2 });
  await assert.rejects(
    session.run(randomInputs(graph, 1, 1)),
    (err: Error) =>
      err instanceof InputMismatchError &&
      /Input "x" is f32 \[1,3,9,7\], expected f32 \[2,3,9,7\]/.test(err.message),
  );
});

Deno.test("CpuSession runs views without their kernels: no copy", async () => {
  const graph = residualGraph();
  const session = new CpuSession(graph, { batch: 2 });
  const views = ["Flatten", "Reshape"].map((op) => opFor({ op } as Node));
  const restores = views.flatMap((def) =>
    (["reference", "cpu"] as const).filter((key) => def[key]).map((key) =>
      wrap(def, key, () => () => {
        throw new Error(`${def.op}.${key} was called`);
      })
    )
  );
  const inputs = randomInputs(graph, 2, 3);
  let actual: Record<string, Tensor>;
  try {
    actual = await session.run(inputs);
  } finally {
    restores.forEach((restore) => restore());
  }
  assert.deepEqual(actual.f.data, runReference(graph, inputs).f.data);
});

Deno.test("CpuSession tells an observer each scheduled node and its non-negative time", async () => {
  const graph = residualGraph();
  const session = new CpuSession(graph, { batch: 2 });
  const seen: string[] = [];
  await session.run(randomInputs(graph, 2, 4), (node, ms) => {
    assert.ok(ms >= 0, `${node.name}: ${ms} ms`);
    seen.push(node.name);
  });
  assert.deepEqual(seen, session.plan.schedule.map((node) => node.name));
});

Deno.test("CpuSession reports the plan's memory figures", () => {
  const session = new CpuSession(residualGraph(), { batch: 2 });
  // Arena values (views share their source's storage): a [steps 0-2, until relu1 reads its
  // view], b [2-4], c [4-5], d [5-7] of T = 2*3*9*7*4 = 1512 bytes and p [7-8] of 288 bytes;
  // q is a graph output's source, in its own buffer. At most two T tensors are live at once,
  // and the chain alternates between two arena buffers of T bytes each.
  assert.deepEqual(session.memory, { plannedBytes: 3024, lowerBoundBytes: 3024, weightBytes: 24 });
});
