import { deepStrictEqual, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { runReference } from "../../executor/reference.ts";
import { importOnnx } from "../../onnx/import.ts";
import { randomTensor, seededRandom } from "../../testing/random.ts";
import { relativeL2 } from "../../testing/tolerance.ts";
import { producersOf } from "../graph_utils.ts";
import { checkNodeOrder } from "../shape_inference.ts";
import type { Graph, Node, Tensor } from "../types.ts";
import { opCounts, PASS_REL_L2 } from "./_testing.ts";
import { conversionPasses, fusionPasses } from "./pipelines.ts";

const ZOO = fileURLToPath(new URL("../../../../shared/models/zoo-synth/", import.meta.url));
const HAS_SHARED = await Deno.stat(ZOO).then(() => true, () => false);

/** The fp32 tiny zoo models and the BN/Relu nodes that must survive both pipelines. */
const MODELS: [string, Record<string, number>][] = [
  ...["18", "34", "50", "101", "152"].flatMap((depth): [string, Record<string, number>][] => [
    [`resnet${depth}-v1-7`, {}],
    // v2 ends in BN -> Relu -> GlobalAveragePool: no conv reads them.
    [`resnet${depth}-v2-7`, { BatchNormalization: 1, Relu: 1 }],
  ]),
  ["resnet50-v1-12", {}],
  ["resnet50-caffe2-v1-9", {}],
  ["preresnet18_a025_pt_224", { BatchNormalization: 1, Relu: 1 }],
];

/**
 * Pre-activations the fused graph must carry, counted on the imported graph: convs reading
 * BN(v) or Relu(BN(v)) where v is not a conv output (a conv output's BN folds instead).
 */
function expectedPreActivations(graph: Graph): Record<string, number> {
  const producers = producersOf(graph);
  const producer = (name: string): Node | undefined => graph.nodes[producers.get(name) ?? -1];
  const counts: Record<string, number> = { bn: 0, bn_relu: 0 };
  for (const conv of graph.nodes.filter((n) => n.op === "Conv")) {
    const relu = producer(conv.inputs[0]);
    const bn = relu?.op === "Relu" ? producer(relu.inputs[0]) : relu;
    if (bn?.op !== "BatchNormalization" || producer(bn.inputs[0])?.op === "Conv") continue;
    counts[bn === relu ? "bn" : "bn_relu"]++;
  }
  return counts;
}

/** Largest relative L2 distance between same-named outputs. */
function outputDistance(actual: Record<string, Tensor>, expected: Record<string, Tensor>): number {
  return Math.max(
    ...Object.entries(expected).map(([name, t]) => relativeL2(actual[name].data, t.data)),
  );
}

/** `x` with every nonzero element moved one f32 ulp up or down, at random. */
function ulpNudged(x: Tensor): Tensor {
  const rand = seededRandom(61);
  const data = Float32Array.from(x.data);
  const bits = new Int32Array(data.buffer);
  for (let i = 0; i < bits.length; i++) if (data[i] !== 0) bits[i] += rand() < 0.5 ? -1 : 1;
  return { ...x, data };
}

for (const [model, survivors] of MODELS) {
  Deno.test({
    name: `conversion and fusion passes keep ${model} equal on the reference (needs ../shared)`,
    ignore: !HAS_SHARED,
    fn: async () => {
      const bytes = await Deno.readFile(`${ZOO}${model}-tiny-synth.onnx`);
      const graph = importOnnx(bytes).graph;
      const converted = conversionPasses(graph);
      const fused = fusionPasses(converted);
      checkNodeOrder(fused);

      const before = opCounts(graph);
      deepStrictEqual(opCounts(converted).Conv, before.Conv);
      deepStrictEqual(
        opCounts(fused),
        {
          ...Object.fromEntries(
            Object.entries(before).filter(([op]) => !/^(BatchNormalization|Relu|Add)$/.test(op)),
          ),
          ...survivors,
        },
        "ops left after fusion",
      );
      const convs = fused.nodes.filter((n) => n.op === "Conv");
      const pre = { bn: 0, bn_relu: 0 };
      for (const conv of convs) {
        const kind = conv.attrs.pre_activation as keyof typeof pre | undefined;
        if (kind) pre[kind]++;
      }
      deepStrictEqual(pre, expectedPreActivations(graph), "pre-activations");
      deepStrictEqual(convs.filter((n) => n.inputs[3]).length, before.Add, "residuals fused");

      const info = graph.inputs[0];
      const shape = info.shape.map((d) => typeof d === "number" ? d : 1);
      const x = randomTensor(seededRandom(60), "f32", shape);
      const expected = runReference(graph, { [info.name]: x });
      // A correct pass only re-rounds (once per layer), so its error scales with the model's
      // sensitivity to rounding, measured here as the output change from a one-ulp nudge of
      // the input. Most models stay far below the flat bound; resnet152-v1-7-tiny's synthetic
      // weights amplify the nudge to 2e-5 (its passes: 4.4e-5, 6.6e-5), hence 8x the measure.
      const floor = outputDistance(runReference(graph, { [info.name]: ulpNudged(x) }), expected);
      const bound = Math.max(PASS_REL_L2, 8 * floor);
      for (const [stage, g] of [["conversion", converted], ["fusion", fused]] as const) {
        const error = outputDistance(runReference(g, { [info.name]: x }), expected);
        ok(
          error <= bound,
          `${model} after ${stage}: relative L2 ${error}, bound ${bound} (one-ulp input ` +
            `nudge moves the output by ${floor})`,
        );
      }
    },
  });
}
