// The documentation's examples run and print what they say: every ```js block of README.md and
// docs/*.md, each as its own program, its standard output compared line by line with its
// `// prints:` comments (scripts/check-readme.js, also `npm run test:readme`). Then the checker
// itself: a wrong or missing announcement fails, a machine-dependent line (`// prints, e.g.:`)
// is counted but not compared.
import * as fs from 'fs';
import * as path from 'path';
import { expect } from 'chai';
import * as normkit from 'normkit';
import { REPO_ROOT } from './helpers/tensors';

interface Checker {
  checkFile(file: string): { blocks: number; failures: string[] };
  defaultFiles(): string[];
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const checker = require(path.join(REPO_ROOT, 'scripts', 'check-readme.js')) as Checker;

describe('docs: every example of README.md and docs/*.md prints what it says', function () {
  this.timeout(300000);

  it('checks the README and every page of docs/', () => {
    const docs = fs.readdirSync(path.join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md'));
    expect(checker.defaultFiles()).to.include('README.md');
    expect(checker.defaultFiles()).to.include.members(docs.map((f) => `docs/${f}`));
  });

  for (const file of checker.defaultFiles()) {
    it(file, function () {
      // The examples announce the native backend's output (`backend` prints native).
      if (normkit.backend !== 'native') this.skip();
      const { failures } = checker.checkFile(file);
      expect(failures, failures.join('\n')).to.deep.equal([]);
    });
  }

  it('links between the README, the CHANGELOG and docs/ name files and headings that exist', () => {
    // GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, -1, -2 for repeats.
    const slug = (h: string) =>
      h
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-');
    const prose = (file: string) =>
      fs.readFileSync(path.join(REPO_ROOT, file), 'utf8').replace(/```[\s\S]*?```/g, '');
    const anchors = (file: string) => {
      const seen = new Map<string, number>();
      const out = new Set<string>();
      for (const m of prose(file).matchAll(/^#+ (.*)$/gm)) {
        const base = slug(m[1]);
        const n = seen.get(base);
        seen.set(base, n === undefined ? 0 : n + 1);
        out.add(n === undefined ? base : `${base}-${n + 1}`);
      }
      return out;
    };
    const files = [
      'README.md',
      'CHANGELOG.md',
      ...checker.defaultFiles().filter((f) => f.startsWith('docs/')),
    ];
    const broken: string[] = [];
    for (const file of files) {
      for (const m of prose(file).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(m[1])) continue;
        const [target, anchor] = m[1].split('#');
        const resolved = target
          ? path.posix.normalize(path.posix.join(path.posix.dirname(file), target))
          : file;
        if (!fs.existsSync(path.join(REPO_ROOT, resolved)))
          broken.push(`${file}: ${m[1]} (no file)`);
        else if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor))
          broken.push(`${file}: ${m[1]} (no heading)`);
      }
    }
    expect(broken, broken.join('\n')).to.deep.equal([]);
  });

  it('docs/api.md names every export: every value of the package and every exported type', () => {
    const dts = (file: string) => fs.readFileSync(path.join(REPO_ROOT, 'dist', file), 'utf8');
    const typeNames = (text: string) => [
      ...Array.from(text.matchAll(/^export (?:declare )?(?:interface|type) (\w+)/gm), (m) => m[1]),
      ...Array.from(text.matchAll(/^export type \{([^}]*)\}/gm)).flatMap((m) =>
        m[1].split(',').map((n) => n.trim()),
      ),
    ];
    const opFiles = Array.from(dts('api.d.ts').matchAll(/from '\.\/([\w-]+)'/g), (m) => m[1]);
    const types = [dts('index.d.ts'), ...opFiles.map((f) => dts(`${f}.d.ts`))].flatMap(typeNames);
    expect(types).to.include.members(['Tensor', 'SimdTier', 'LayerNormStateDict']);
    const api = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'api.md'), 'utf8');
    const missing = [...Object.keys(normkit), ...types].filter(
      (name) => !new RegExp(`\`(class )?${name}[\`(]`).test(api),
    );
    expect(missing, 'not in docs/api.md').to.deep.equal([]);
  });

  describe('the checker', () => {
    const scratch = path.join(REPO_ROOT, 'build-test', 'docs-check');
    const check = (code: string) => {
      fs.mkdirSync(scratch, { recursive: true });
      const file = path.join(scratch, 'example.md');
      fs.writeFileSync(file, '# t\n\n```js\n' + code + '\n```\n');
      return checker.checkFile(path.relative(REPO_ROOT, file)).failures;
    };
    after(() => fs.rmSync(scratch, { recursive: true, force: true }));

    it('passes a block that prints what it announces, in order', () => {
      expect(
        check("console.log(1 + 1); // prints: 2\nconsole.log('a');\n// prints: a"),
      ).to.deep.equal([]);
    });

    it('fails a wrong line, an unannounced line, a missing line, a warning and a throw', () => {
      expect(check('console.log(3); // prints: 2')[0]).to.match(/announced: 2\s+printed: {3}3/);
      expect(check('console.log(3);')[0]).to.contain('printed but not announced: 3');
      expect(check('// prints: 3')[0]).to.contain('announced but not printed: 3');
      expect(check("process.emitWarning('w');")[0]).to.contain('standard error');
      expect(check("throw new Error('boom');")[0]).to.contain('exited with 1');
    });

    it('counts a `prints, e.g.:` line without comparing it', () => {
      expect(check('console.log(Math.random()); // prints, e.g.: 0.5')).to.deep.equal([]);
      expect(check('// prints, e.g.: 0.5')).to.have.length(1);
    });
  });
});
