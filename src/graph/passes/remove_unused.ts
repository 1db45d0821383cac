/**
 * Dead-code removal pass.
 *
 * @module
 */

import { graphOutputNames } from "../graph_utils.ts";
import type { Graph, Node } from "../types.ts";

/**
 * Drops every node none of whose outputs is read by a kept node or is a graph output, then
 * every initializer no kept node reads. Graph inputs stay (they are the model's interface).
 * Exact: no surviving value changes.
 *
 * @example
 * ```ts
 * const tidy = removeUnused(graph);
 * ```
 */
export function removeUnused(graph: Graph): Graph {
  const live = graphOutputNames(graph);
  const kept: Node[] = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i];
    if (!node.outputs.some((name) => live.has(name))) continue;
    kept.push(node);
    for (const name of node.inputs) if (name !== "") live.add(name);
  }
  kept.reverse();
  const initializers = new Map([...graph.initializers].filter(([name]) => live.has(name)));
  return { ...graph, nodes: kept, initializers };
}
