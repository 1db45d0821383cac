/**
 * Convolution kernels on ResNet-18/50 and MobileNetV2 layer shapes (cases.ts), GPU and CPU;
 * the report after the run is described in kernel_suite.ts.
 *
 * ```sh
 * deno task bench bench/conv_bench.ts
 * ```
 *
 * @module
 */

import { benchKernelFamilies } from "./kernel_suite.ts";

benchKernelFamilies(["conv 7x7/2", "conv 3x3", "conv 1x1", "conv depthwise 3x3"]);
