import type { BuildOptions } from 'esbuild';

export declare const PROVIDED_BY_MEDPLUM_RUNTIME: string[];
export declare const VM_CONTEXT_FOOTER: string;
export declare function botBuildOptions(entryPoint: string, outfile: string): BuildOptions;
