/**
 * Concrete types for every value of a graph at a given batch size: symbolic input dims are
 * bound, the node order is checked, and each op's `inferTypes` runs in graph order. Also
 * checks runtime input tensors against those types.
 *
 * @module
 */

import { opFor } from "../ops/registry.ts";
import {
  allocData,
  type Dim,
  type Graph,
  sizeOf,
  type Tensor,
  type TensorType,
  type ValueInfo,
} from "./types.ts";

/** How the symbolic dims of a graph's inputs get their values. */
export interface ShapeBindings {
  /** Value of the batch symbol: the symbolic leading dim of the inputs, whatever its name. */
  batch?: number;
  /** Concrete shapes of inputs by name; they bind every symbol they cover. */
  shapes?: Record<string, number[]>;
}

/** Raised when runtime inputs do not match the graph's inputs (name, dtype or shape). */
export class InputMismatchError extends Error {
  /** Creates the error with a one-line reason. */
  constructor(reason: string) {
    super(reason);
    this.name = "InputMismatchError";
  }
}

/**
 * Returns the concrete type of every value of `graph` (inputs, initializers, node outputs)
 * with its symbolic input dims bound by `bindings`. Throws a clear error for an unbound
 * symbol, a node order that is not topological, or a malformed node.
 *
 * @example
 * ```ts
 * const types = inferGraphTypes(graph, { batch: 2 });
 * types.get(graph.outputs[0].name); // { dtype: "f32", shape: [2, 1000] }
 * ```
 */
export function inferGraphTypes(
  graph: Graph,
  bindings: ShapeBindings = {},
): Map<string, TensorType> {
  checkNodeOrder(graph);
  const symbols = bindSymbols(graph, bindings);
  const types = new Map<string, TensorType>();
  for (const [name, t] of graph.initializers) {
    types.set(name, { dtype: t.dtype, shape: [...t.shape], ...(t.quant && { quant: t.quant }) });
  }
  for (const input of graph.inputs) {
    types.set(input.name, {
      dtype: input.dtype,
      shape: input.shape.map((d, axis) => resolveDim(input, d, axis, symbols)),
      ...(input.quant && { quant: input.quant }),
    });
  }
  for (const node of graph.nodes) {
    const inputs = node.inputs.map((name) => (name === "" ? undefined : types.get(name)!));
    const outputs = opFor(node).inferTypes(node, inputs);
    if (outputs.length !== node.outputs.length) {
      throw new Error(
        `Node "${node.name}" (${node.op}) lists ${node.outputs.length} outputs but its op ` +
          `infers ${outputs.length}`,
      );
    }
    node.outputs.forEach((name, i) => {
      if (name !== "") types.set(name, outputs[i]);
    });
  }
  for (const output of graph.outputs) checkDeclared(output, types.get(output.name)!, symbols);
  return types;
}

/**
 * Checks that node names are unique, that every node input is produced before it is used
 * (by an earlier node, a graph input or an initializer), that no value is produced twice,
 * and that every graph output exists. Throws an error naming the node and value otherwise.
 * Outputs named `""` are absent optional outputs.
 */
export function checkNodeOrder(graph: Graph): void {
  const producer = new Map<string, string>();
  for (const input of graph.inputs) producer.set(input.name, "a graph input");
  for (const name of graph.initializers.keys()) producer.set(name, "an initializer");
  const names = new Set<string>();
  for (const node of graph.nodes) {
    if (names.has(node.name)) throw new Error(`Two nodes are named "${node.name}"`);
    names.add(node.name);
  }
  const later = new Set(graph.nodes.flatMap((n) => n.outputs).filter((n) => n !== ""));
  for (const node of graph.nodes) {
    for (const name of node.inputs) {
      if (name === "" || producer.has(name)) continue;
      throw new Error(
        later.has(name)
          ? `Node "${node.name}" uses "${name}" before it is produced; nodes must be in ` +
            `topological order`
          : `Node "${node.name}" uses "${name}", which no node, input or initializer defines`,
      );
    }
    for (const name of node.outputs.filter((n) => n !== "")) {
      const previous = producer.get(name);
      if (previous !== undefined) {
        throw new Error(
          `Node "${node.name}" produces "${name}", which is already ${previous}`,
        );
      }
      producer.set(name, `produced by node "${node.name}"`);
    }
  }
  for (const output of graph.outputs) {
    if (!producer.has(output.name)) {
      throw new Error(`Graph output "${output.name}" is not produced by any node`);
    }
  }
}

/**
 * Checks runtime `inputs` against the graph's inputs as typed in `types`: every input
 * present, no unknown names, matching dtype, shape and data length. Throws
 * InputMismatchError naming the input and quoting the offending value.
 */
export function checkInputTensors(
  graph: Graph,
  types: ReadonlyMap<string, TensorType>,
  inputs: Record<string, Tensor>,
): void {
  const names = graph.inputs.map((i) => i.name);
  for (const name of Object.keys(inputs)) {
    if (!names.includes(name)) {
      throw new InputMismatchError(
        `Unknown input "${name}"; the model's inputs are: ${names.join(", ")}`,
      );
    }
  }
  for (const name of names) {
    const want = types.get(name)!;
    const got = inputs[name];
    const expected = `${want.dtype} [${want.shape}]`;
    if (!got) throw new InputMismatchError(`Missing input "${name}" (${expected})`);
    if (got.dtype !== want.dtype || got.shape.join() !== want.shape.join()) {
      throw new InputMismatchError(
        `Input "${name}" is ${got.dtype} [${got.shape}], expected ${expected}`,
      );
    }
    const storage = allocData(want.dtype, 0).constructor;
    if (!(got.data instanceof storage) || got.data.length !== sizeOf(want.shape)) {
      throw new InputMismatchError(
        `Input "${name}" has ${got.data.length} elements in a ${got.data.constructor.name}, ` +
          `expected ${sizeOf(want.shape)} in a ${storage.name}`,
      );
    }
  }
}

/** Binds each symbol of the graph's input shapes to a value. */
function bindSymbols(graph: Graph, bindings: ShapeBindings): Map<string, number> {
  const symbols = new Map<string, number>();
  const bind = (input: ValueInfo, symbol: string, value: number, source: string) => {
    const bound = symbols.get(symbol);
    if (bound !== undefined && bound !== value) {
      throw new Error(
        `Dimension "${symbol}" of input "${input.name}" gets ${value} from ${source} but ` +
          `is already bound to ${bound}`,
      );
    }
    symbols.set(symbol, value);
  };
  const shapes = bindings.shapes ?? {};
  for (const name of Object.keys(shapes)) {
    if (!graph.inputs.some((i) => i.name === name)) {
      throw new Error(
        `A shape is given for "${name}", which is not a graph input; inputs: ${
          graph.inputs.map((i) => i.name).join(", ")
        }`,
      );
    }
  }
  for (const input of graph.inputs) {
    const shape = shapes[input.name];
    if (!shape) continue;
    if (shape.length !== input.shape.length || !shape.every(isPositiveInteger)) {
      throw new Error(
        `Shape [${shape}] given for input "${input.name}" does not fit its declared shape ` +
          `[${input.shape}]`,
      );
    }
    input.shape.forEach((d, axis) => {
      if (typeof d === "string") bind(input, d, shape[axis], `shape [${shape}]`);
      else if (d !== shape[axis]) {
        throw new Error(
          `Shape [${shape}] given for input "${input.name}" conflicts with its declared ` +
            `shape [${input.shape}] at axis ${axis}`,
        );
      }
    });
  }
  const { batch } = bindings;
  if (batch === undefined) return symbols;
  if (!isPositiveInteger(batch)) {
    throw new Error(`Batch size must be a positive integer, got ${batch}`);
  }
  for (const input of graph.inputs) {
    if (shapes[input.name] || input.shape.length === 0) continue;
    const lead = input.shape[0];
    if (typeof lead === "string") bind(input, lead, batch, `batch ${batch}`);
    else if (lead !== batch) {
      throw new Error(
        `Input "${input.name}" has a fixed batch of ${lead} (shape [${input.shape}]); ` +
          `batch ${batch} cannot be used with this model`,
      );
    }
  }
  return symbols;
}

function resolveDim(input: ValueInfo, d: Dim, axis: number, symbols: Map<string, number>) {
  if (typeof d === "number") return d;
  const value = symbols.get(d);
  if (value === undefined) {
    throw new Error(
      `Dimension "${d}" (axis ${axis}) of input "${input.name}" is unbound; pass ` +
        (axis === 0 ? `a batch size or ` : ``) + `an explicit shape for "${input.name}"`,
    );
  }
  return value;
}

/** Checks an inferred output type against the graph's declaration of it. */
function checkDeclared(declared: ValueInfo, inferred: TensorType, symbols: Map<string, number>) {
  const fits = declared.dtype === inferred.dtype &&
    declared.shape.length === inferred.shape.length &&
    declared.shape.every((d, axis) =>
      (typeof d === "number" ? d : symbols.get(d) ?? inferred.shape[axis]) ===
        inferred.shape[axis]
    );
  if (!fits) {
    throw new Error(
      `Graph output "${declared.name}" is declared ${declared.dtype} [${declared.shape}] but ` +
        `infers ${inferred.dtype} [${inferred.shape}] for these input shapes`,
    );
  }
}

function isPositiveInteger(n: number): boolean {
  return Number.isInteger(n) && n > 0;
}
