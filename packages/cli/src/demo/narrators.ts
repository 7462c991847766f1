/**
 * How the demo talks: on a terminal a spinner on the current step with its notes above it; in a pipe
 * plain lines; with --json nothing until the one JSON document at the end.
 */
import type { CliIo } from '../io.js';
import { escapeControl } from '../output.js';
import type { Narrator } from './scenario.js';
import type { StepResult } from './steps.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function verdict(result: StepResult): string {
  const time = result.ms === null ? '' : `  ${result.ms.toFixed(1)} ms`;
  if (result.outcome === 'not_available') return `–  ${result.title}: not available here${time}`;
  return `${result.passed ? '✔' : '✘'}  ${result.title}: ${result.outcome.replace('_', ' ')}${time}`;
}

export function silentNarrator(): Narrator {
  return { begin() {}, note() {}, end() {} };
}

export function lineNarrator(io: CliIo): Narrator & { say(text: string): void } {
  let index = 0;
  return {
    say: (text) => io.stdout(`${escapeControl(text)}\n`),
    begin(title) {
      index++;
      io.stdout(`\n${index}. ${escapeControl(title)}\n`);
    },
    note: (text) => io.stdout(`     ${escapeControl(text)}\n`),
    end(result) {
      io.stdout(`   ${verdict(result)}\n`);
      if (result.outcome === 'error' || result.outcome === 'not_available')
        io.stdout(`     ${escapeControl(String(result.details.error ?? result.details.reason ?? ''))}\n`);
    },
  };
}

/** Spinner on the step's line (redrawn in place with \r and erase-line); notes scroll above it. */
export function terminalNarrator(
  io: CliIo,
): Narrator & { say(text: string): void; wait(title: string): () => void; close(): void } {
  let index = 0;
  let title = '';
  let frame = 0;
  let started = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const clear = () => io.stdout('\r\u001b[2K');
  const draw = () => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    io.stdout(`\r\u001b[2K   ${FRAMES[frame++ % FRAMES.length]} ${escapeControl(title)}  ${seconds} s`);
  };
  const stopSpinner = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    clear();
  };
  return {
    say(text) {
      if (timer) clear();
      io.stdout(`${escapeControl(text)}\n`);
      if (timer) draw();
    },
    begin(stepTitle) {
      index++;
      title = stepTitle;
      started = performance.now();
      io.stdout(`\n\u001b[1m${index}. ${escapeControl(stepTitle)}\u001b[0m\n`);
      draw();
      timer = setInterval(draw, 80);
      timer.unref?.();
    },
    note(text) {
      clear();
      io.stdout(`     ${escapeControl(text)}\n`);
      draw();
    },
    end(result) {
      stopSpinner();
      const colour = result.passed
        ? '\u001b[32m'
        : result.outcome === 'not_available'
          ? '\u001b[33m'
          : '\u001b[31m';
      io.stdout(`   ${colour}${verdict(result)}\u001b[0m\n`);
      if (result.outcome === 'error' || result.outcome === 'not_available')
        io.stdout(`     ${escapeControl(String(result.details.error ?? result.details.reason ?? ''))}\n`);
    },
    /** A spinner for something that is not a step (starting the processes); call the result to end it. */
    wait(waitTitle) {
      title = waitTitle;
      started = performance.now();
      draw();
      timer = setInterval(draw, 80);
      timer.unref?.();
      return stopSpinner;
    },
    close: stopSpinner,
  };
}
