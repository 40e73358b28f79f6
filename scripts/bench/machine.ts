// Where a benchmark ran: results from different machines or versions are not comparable, so the JSON says.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../lib/bot-config.ts';

export interface MachineInfo {
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly packages: Record<string, string>;
  /** The commit measured, with `+dirty` when the working tree had changes. */
  readonly commit: string;
}

const MEASURED_PACKAGES = ['@medplum/core', '@medplum/mock', 'esbuild', 'stripe'];

/** The installed version of a package of this repository, read from its package.json. */
export function packageVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8'));
  return (manifest as { version: string }).version;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    packages: Object.fromEntries(MEASURED_PACKAGES.map((name) => [name, packageVersion(name)])),
    commit: gitCommit(),
  };
}

function gitCommit(): string {
  try {
    const git = (args: string[]): string => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = git(['status', '--porcelain']) !== '';
    return git(['rev-parse', '--short', 'HEAD']) + (dirty ? '+dirty' : '');
  } catch {
    return 'unknown (not a git checkout)';
  }
}
