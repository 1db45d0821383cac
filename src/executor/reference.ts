/**
 * The reference graph interpreter: runs every node in graph order with its op's plain
 * `reference` implementation (view ops too), initializers as constants. It is the oracle the
 * graph passes and the executors are tested against, not a fast path.
 *
 * @module
 */

import { checkInputTensors, inferGraphTypes } from "../graph/shape_inference.ts";
import { type Graph, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import { opFor } from "../ops/registry.ts";

/**
 * Runs `graph` on `inputs` (one tensor per graph input, by name) and returns the graph
 * outputs by name. Symbolic input dims (such as `"N"`) bind to the given shapes and must
 * bind consistently; every node output is checked against the inferred type.
 *
 * @example
 * ```ts
 * const { logits } = runReference(graph, { data: image });
 * ```
 */
export function runReference(graph: Graph, inputs: Record<string, Tensor>): Record<string, Tensor> {
  for (const info of graph.inputs) {
    if (!inputs[info.name]) {
      throw new Error(
        `Missing graph input "${info.name}" (${info.dtype} [${info.shape}]); given: ` +
          `${Object.keys(inputs).join(", ") || "none"}`,
      );
    }
  }
  const shapes = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, t.shape]));
  const types = inferGraphTypes(graph, { shapes });
  checkInputTensors(graph, types, inputs);
  const values = new Map<string, Tensor>(graph.initializers);
  for (const [name, tensor] of Object.entries(inputs)) values.set(name, tensor);
  for (const node of graph.nodes) {
    const args = node.inputs.map((name) => name === "" ? undefined : values.get(name)!);
    const results = runNode(node, args, node.outputs.map((name) => types.get(name)!));
    node.outputs.forEach((name, i) => {
      if (name !== "") values.set(name, results[i]);
    });
  }
  return Object.fromEntries(graph.outputs.map(({ name }) => [name, values.get(name)!]));
}

/**
 * Runs one node with its op's `reference` and checks every named output against `expected`
 * (by default the op's `inferTypes` of `args`): dtype, shape and element count.
 */
export function runNode(
  node: Node,
  args: (Tensor | undefined)[],
  expected: TensorType[] = opFor(node).inferTypes(node, args),
): Tensor[] {
  const results = opFor(node).reference(node, args);
  if (results.length !== node.outputs.length) {
    throw new Error(
      `Node "${node.name}" (${node.op}) reference returned ${results.length} outputs, ` +
        `the node names ${node.outputs.length}`,
    );
  }
  node.outputs.forEach((name, i) => {
    if (name !== "") {
      checkType(results[i], expected[i], `output "${name}" of node "${node.name}" (${node.op})`);
    }
  });
  return results;
}

/** Throws when `actual` disagrees with the inferred type `expected`. */
function checkType(actual: Tensor, expected: TensorType | undefined, what: string): void {
  const shapeOk = expected !== undefined && actual.shape.length === expected.shape.length &&
    actual.shape.every((d, i) => d === expected.shape[i]);
  if (!shapeOk || actual.dtype !== expected.dtype) {
    throw new Error(
      `The reference made ${what} ${actual.dtype} [${actual.shape}], but inferTypes says ` +
        (expected ? `${expected.dtype} [${expected.shape}]` : "it has no such output"),
    );
  }
  if (actual.data.length !== sizeOf(actual.shape)) {
    throw new Error(
      `The reference made ${what} with ${actual.data.length} elements for shape [${actual.shape}]`,
    );
  }
}
