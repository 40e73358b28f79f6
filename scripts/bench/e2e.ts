// Runs the bot and the naive baseline end to end, each in a child process of its own (a fresh heap for the
// memory figure), taking turns a few object sets at a time so that both see the same load on the machine.
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../lib/bot-config.ts';
import type { Implementation, WorkerCommand, WorkerOptions, WorkerReply, WorkerResult } from './e2e-worker.ts';

const WORKER = join(REPO_ROOT, 'scripts', 'bench', 'e2e-worker.ts');

/** Object sets (a customer's deliveries...) per turn: long enough to time, short enough to interleave. */
const SETS_PER_TURN = 5;

interface Worker {
  readonly impl: Implementation;
  readonly child: ChildProcess;
  events: number;
}

function startWorker(options: WorkerOptions): Worker {
  const args = ['--source', options.source, '--impl', options.impl];
  args.push('--events', String(options.events), '--sets-per-store', String(options.setsPerStore));
  const stdio = ['ignore', 'ignore', 'inherit', 'ipc'] as const;
  const child = fork(WORKER, args, { cwd: REPO_ROOT, execArgv: ['--expose-gc'], stdio: [...stdio] });
  return { impl: options.impl, child, events: 0 };
}

/** Sends a command (or none, to await the first message) and resolves with the worker's reply. */
function exchange(worker: Worker, command?: WorkerCommand): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: WorkerReply): void => {
      worker.child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null): void => {
      worker.child.off('message', onMessage);
      reject(new Error(`The ${worker.impl} run stopped (exit ${code}) before it answered; see its error above.`));
    };
    worker.child.once('message', onMessage);
    worker.child.once('exit', onExit);
    if (command) {
      worker.child.send(command);
    }
  });
}

type Progress = (events: number) => void;

async function takeTurns(workers: readonly Worker[], events: number, progress: Progress): Promise<void> {
  for (let turn = 0; workers.some((worker) => worker.events < events); turn++) {
    const order = turn % 2 === 0 ? workers : [...workers].reverse();
    for (const worker of order.filter((candidate) => candidate.events < events)) {
      const reply = await exchange(worker, { type: 'advance', sets: SETS_PER_TURN });
      worker.events = reply.type === 'advanced' ? reply.events : events;
    }
    progress(Math.min(...workers.map((worker) => worker.events)));
  }
}

async function resultOf(worker: Worker): Promise<WorkerResult> {
  const reply = await exchange(worker, { type: 'finish' });
  if (reply.type !== 'result') {
    throw new Error(`The ${worker.impl} run answered ${reply.type} instead of its result.`);
  }
  return reply.result;
}

export interface EndToEndPair {
  readonly bot: WorkerResult;
  readonly naive: WorkerResult;
}

export async function runEndToEnd(options: Omit<WorkerOptions, 'impl'>, progress: Progress): Promise<EndToEndPair> {
  const workers = (['bot', 'naive'] as const).map((impl) => startWorker({ ...options, impl }));
  try {
    await Promise.all(workers.map((worker) => exchange(worker)));
    await takeTurns(workers, options.events, progress);
    const [bot, naive] = await Promise.all(workers.map(resultOf));
    return { bot, naive };
  } finally {
    for (const worker of workers) {
      if (worker.child.exitCode === null) {
        worker.child.kill();
      }
    }
  }
}
