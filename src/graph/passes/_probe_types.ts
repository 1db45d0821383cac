/**
 * Value types of a graph for the passes that need shapes and dtypes but run before a batch
 * size is known: symbolic input dims are bound to a probe value.
 *
 * @module
 */

import { inferGraphTypes } from "../shape_inference.ts";
import type { Graph, TensorType } from "../types.ts";

/**
 * The type of every value with the symbolic input dims bound to 1, then to 2; a binding the
 * graph cannot take (a fixed-batch reshape) is left out, except the first, whose error is
 * thrown.
 */
export function probeTypes(graph: Graph): Map<string, TensorType>[] {
  return [1, 2].flatMap((probe) => {
    const shapes = Object.fromEntries(
      graph.inputs.map((
        info,
      ) => [info.name, info.shape.map((d) => (typeof d === "number" ? d : probe))]),
    );
    try {
      return [inferGraphTypes(graph, { shapes })];
    } catch (err) {
      if (probe === 1) throw err;
      return [];
    }
  });
}
