/**
 * Reads the shell commands out of the Markdown docs: fenced ```sh blocks (and the `$ ` lines of
 * ```console transcripts), split into simple commands the way a POSIX shell would split them —
 * quotes, `\` line continuations, comments, `&&` / `||` / `;` / `|`, and `$( … )` substitutions,
 * whose commands are checked too.
 */
import { readFileSync } from 'node:fs';

export interface DocBlock {
  /** Path relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: 'sh' | 'console';
  /** The commands as written (console: the `$ ` lines without the prompt). */
  text: string;
}

export interface SimpleCommand {
  /** Words after quote removal; leading `NAME=value` assignments are in `assignments`. */
  words: string[];
  assignments: string[];
}

const SHELL_LANGS = new Set(['sh', 'bash', 'shell']);

export function extractBlocks(file: string, markdown: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const lang = open[1]!;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    if (SHELL_LANGS.has(lang)) blocks.push({ file, line: start + 1, lang: 'sh', text: body.join('\n') });
    else if (lang === 'console') {
      const prompts = body.filter((line) => line.startsWith('$ ')).map((line) => line.slice(2));
      if (prompts.length > 0)
        blocks.push({ file, line: start + 1, lang: 'console', text: prompts.join('\n') });
    }
  }
  return blocks;
}

export function readBlocks(root: string, files: readonly string[]): DocBlock[] {
  return files.flatMap((file) => extractBlocks(file, readFileSync(`${root}/${file}`, 'utf8')));
}

class Parser {
  readonly commands: SimpleCommand[] = [];
  i = 0;
  constructor(private readonly s: string) {}

  /** Parses until the end, or until the `)` closing a `$(`. */
  list(inSubstitution: boolean): void {
    let words: string[] = [];
    let word = '';
    let inWord = false;
    const endWord = () => {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    };
    const endCommand = () => {
      endWord();
      if (words.length > 0) {
        let first = 0;
        while (first < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[first]!)) first++;
        this.commands.push({ words: words.slice(first), assignments: words.slice(0, first) });
      }
      words = [];
    };
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i]!;
      if (c === '\\' && s[this.i + 1] === '\n') {
        this.i += 2;
      } else if (c === '\\') {
        word += s[this.i + 1] ?? '';
        inWord = true;
        this.i += 2;
      } else if (c === "'") {
        const end = s.indexOf("'", this.i + 1);
        if (end < 0) throw new Error(`unterminated ' in: ${s}`);
        word += s.slice(this.i + 1, end);
        inWord = true;
        this.i = end + 1;
      } else if (c === '"') {
        this.i++;
        inWord = true;
        while (this.i < s.length && s[this.i] !== '"') {
          if (s[this.i] === '\\' && this.i + 1 < s.length) {
            word += s[this.i + 1];
            this.i += 2;
          } else if (s.startsWith('$(', this.i)) {
            this.i += 2;
            this.list(true);
            word += '$(…)';
          } else word += s[this.i++];
        }
        if (s[this.i] !== '"') throw new Error(`unterminated " in: ${s}`);
        this.i++;
      } else if (s.startsWith('$(', this.i)) {
        this.i += 2;
        this.list(true);
        word += '$(…)';
        inWord = true;
      } else if (c === ')' && inSubstitution) {
        this.i++;
        endCommand();
        return;
      } else if (c === '#' && !inWord) {
        while (this.i < s.length && s[this.i] !== '\n') this.i++;
      } else if (c === '\n' || c === ';') {
        this.i++;
        endCommand();
      } else if (c === '&' || c === '|') {
        this.i += s[this.i + 1] === c ? 2 : 1;
        endCommand();
      } else if (c === ' ' || c === '\t') {
        this.i++;
        endWord();
      } else if (c === '>' || c === '<') {
        // A redirection: the next word is its target, not an argument.
        this.i++;
        endWord();
        while (s[this.i] === ' ') this.i++;
        while (this.i < s.length && !/[\s;&|)]/.test(s[this.i]!)) this.i++;
      } else {
        word += c;
        inWord = true;
        this.i++;
      }
    }
    if (inSubstitution) throw new Error(`unterminated $( in: ${s}`);
    endCommand();
  }
}

/** Every simple command of a script, substitutions' commands included. */
export function simpleCommands(script: string): SimpleCommand[] {
  const parser = new Parser(script);
  parser.list(false);
  return parser.commands;
}
