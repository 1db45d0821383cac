/**
 * Constant folding pass.
 *
 * @module
 */

import { runNode } from "../../executor/reference.ts";
import { graphOutputNames } from "../graph_utils.ts";
import type { Graph, Node } from "../types.ts";

/**
 * Evaluates, in graph order, every node whose inputs are all initializers (so chains fold)
 * with its op's reference, and turns its outputs into initializers. Nodes that produce a
 * graph output stay, so every graph output is still produced by a node. Exact: the folded
 * values are the reference's results, the values the unfolded graph computes under
 * `runReference`. The folded nodes' own inputs are left for `removeUnused`.
 *
 * @example
 * ```ts
 * const folded = removeUnused(constantFold(graph));
 * ```
 */
export function constantFold(graph: Graph): Graph {
  const initializers = new Map(graph.initializers);
  const runtime = new Set(graph.inputs.map((info) => info.name));
  const outputs = graphOutputNames(graph);
  const nodes: Node[] = [];
  for (const node of graph.nodes) {
    const constant = node.inputs.every((name) =>
      name === "" || (initializers.has(name) && !runtime.has(name))
    );
    if (!constant || node.outputs.some((name) => outputs.has(name))) {
      nodes.push(node);
      continue;
    }
    const results = runNode(node, node.inputs.map((name) => initializers.get(name)));
    node.outputs.forEach((name, i) => {
      if (name !== "") initializers.set(name, results[i]);
    });
  }
  return { ...graph, nodes, initializers };
}
