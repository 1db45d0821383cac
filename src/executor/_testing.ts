/**
 * Test fixtures for the executor tests: a small residual graph with a symbolic batch, two
 * outputs and broadcast initializers, built only from elementwise and pooling ops; a one-conv
 * graph; and spies that count or intercept calls to WebGPU methods.
 *
 * @module
 */

import type { Graph, Node, Tensor } from "../graph/types.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";

/**
 * x [N,3,9,7] -> MaxPool 3x3 pad 1 -> Flatten(axis 2) -> Relu -> Reshape [-1,3,9,7] ->
 * Mul(scale [3,1,1]) -> Add(x) = d; y = Relu(d); f = Flatten(AveragePool 2x2/2 (d) +
 * shift [3]). Outputs y [N,3,9,7] and f [N,36]; three views: one reading a kernel's output,
 * one feeding a kernel, one that is a graph output.
 */
export function residualGraph(seed = 1): Graph {
  const rand = seededRandom(seed);
  return {
    name: "residual",
    inputs: [{ name: "x", dtype: "f32", shape: ["N", 3, 9, 7] }],
    outputs: [
      { name: "y", dtype: "f32", shape: ["N", 3, 9, 7] },
      { name: "f", dtype: "f32", shape: ["N", 36] },
    ],
    initializers: new Map([
      ["scale", randomTensor(rand, "f32", [3, 1, 1], 0.5, 2)],
      ["shift", randomTensor(rand, "f32", [3])],
    ]),
    nodes: [
      {
        name: "pool",
        op: "MaxPool",
        inputs: ["x"],
        outputs: ["a"],
        attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] },
      },
      { name: "rows", op: "Flatten", inputs: ["a"], outputs: ["a2"], attrs: { axis: 2 } },
      { name: "relu1", op: "Relu", inputs: ["a2"], outputs: ["b"], attrs: {} },
      {
        name: "unrows",
        op: "Reshape",
        inputs: ["b"],
        outputs: ["b4"],
        attrs: { shape: [-1, 3, 9, 7] },
      },
      { name: "mul", op: "Mul", inputs: ["b4", "scale"], outputs: ["c"], attrs: {} },
      { name: "add", op: "Add", inputs: ["c", "x"], outputs: ["d"], attrs: {} },
      { name: "relu2", op: "Relu", inputs: ["d"], outputs: ["y"], attrs: {} },
      {
        name: "avg",
        op: "AveragePool",
        inputs: ["d"],
        outputs: ["p"],
        attrs: { kernel_shape: [2, 2], strides: [2, 2] },
      },
      { name: "add_shift", op: "Add", inputs: ["p", "shift"], outputs: ["q"], attrs: {} },
      { name: "flat", op: "Flatten", inputs: ["q"], outputs: ["f"], attrs: { axis: 1 } },
    ],
  };
}

/**
 * x [N,5,12,12] -> Conv 3x3 pad 1, 5 -> 7 channels, bias, ReLU -> y [N,7,12,12]. The weights w
 * [7,5,3,3] are an initializer or, where `weightsAsInput`, a graph input (`ws` [1,315],
 * reshaped; batch 1 only) that every run may change.
 */
export function convGraph(weightsAsInput = false, seed = 1): Graph {
  const rand = seededRandom(seed);
  const w = randomTensor(rand, "f32", [7, 5, 3, 3]);
  const conv: Node = {
    name: "conv",
    op: "Conv",
    inputs: ["x", "w", "b"],
    outputs: ["y"],
    attrs: { pads: [1, 1, 1, 1], activation: "relu" },
  };
  const reshape: Node = {
    name: "unflatten",
    op: "Reshape",
    inputs: ["ws"],
    outputs: ["w"],
    attrs: { shape: [7, 5, 3, 3] },
  };
  return {
    name: "conv",
    inputs: [
      { name: "x", dtype: "f32", shape: ["N", 5, 12, 12] },
      ...(weightsAsInput ? [{ name: "ws", dtype: "f32" as const, shape: [1, 315] }] : []),
    ],
    outputs: [{ name: "y", dtype: "f32", shape: ["N", 7, 12, 12] }],
    initializers: new Map([
      ["b", randomTensor(rand, "f32", [7])],
      ...(weightsAsInput ? [] : [["w", w] as const]),
    ]),
    nodes: weightsAsInput ? [reshape, conv] : [conv],
  };
}

/**
 * Seeded random f32 inputs in [-1, 1) for every input of `graph`, the batch symbol of their
 * shapes set to `batch`.
 */
export function randomInputs(graph: Graph, batch: number, seed: number): Record<string, Tensor> {
  const rand = seededRandom(seed);
  return Object.fromEntries(graph.inputs.map((input) => {
    const shape = input.shape.map((d) => (typeof d === "number" ? d : batch));
    return [input.name, randomTensor(rand, "f32", shape)];
  }));
}

/** Any method, for spying. */
export type Method = (...args: unknown[]) => unknown;

/** Replaces method `key` of `obj` by `wrapper(original)`; returns the function restoring it. */
export function wrap(obj: object, key: string, wrapper: (original: Method) => Method): () => void {
  const target = obj as Record<string, Method>;
  const own = Object.hasOwn(obj, key);
  const original = target[key];
  target[key] = wrapper(original);
  return () => {
    if (own) target[key] = original;
    else delete target[key];
  };
}

/**
 * Records, until `stop` is called, the buffers `device` creates (with their labels) and every
 * `destroy` call on them, in order (a buffer destroyed twice appears twice).
 */
export function trackBuffers(device: GPUDevice): {
  created: { buffer: GPUBuffer; label: string }[];
  destroyed: { buffer: GPUBuffer; label: string }[];
  stop: () => void;
} {
  const created: { buffer: GPUBuffer; label: string }[] = [];
  const destroyed: { buffer: GPUBuffer; label: string }[] = [];
  const stop = wrap(
    device,
    "createBuffer",
    (original) =>
      function (this: unknown, ...args: unknown[]) {
        const buffer = original.apply(this, args) as GPUBuffer;
        const entry = { buffer, label: (args[0] as GPUBufferDescriptor).label ?? "" };
        created.push(entry);
        wrap(buffer, "destroy", (destroy) =>
          function (this: unknown) {
            destroyed.push(entry);
            return destroy.apply(this);
          });
        return buffer;
      },
  );
  return { created, destroyed, stop };
}

/** Counts calls of the named methods of `obj` until the returned `stop` is called. */
export function countCalls(
  obj: object,
  keys: string[],
): { counts: Record<string, number>; stop: () => void } {
  const counts: Record<string, number> = {};
  const restores = keys.map((key) => {
    counts[key] = 0;
    return wrap(obj, key, (original) =>
      function (this: unknown, ...args: unknown[]) {
        counts[key]++;
        return original.apply(this, args);
      });
  });
  return { counts, stop: () => restores.forEach((restore) => restore()) };
}
