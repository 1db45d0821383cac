/**
 * Convolution kernels on ResNet-18/50 and MobileNetV2 layer shapes (cases.ts), fp32 and the
 * int8 convs of ResNet-50 int8, GPU and CPU;
 * the report after the run is described in kernel_suite.ts.
 *
 * ```sh
 * deno task bench bench/conv_bench.ts
 * ```
 *
 * @module
 */

import { benchKernelFamilies } from "./kernel_suite.ts";

benchKernelFamilies(["conv 7x7/2", "conv 3x3", "conv 1x1", "conv depthwise 3x3", "int8 conv"]);
