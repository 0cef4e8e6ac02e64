import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/app/config-schema.js';
import { ConfigError } from '../../src/platform/config/loader.js';
import { regexProblem } from '../../src/platform/linear-regex.js';
import { UserMapper } from '../../src/broker/user-mapper.js';
import { normaliseIp } from '../../src/broker/endpoint-matcher.js';
import { scrubLine } from '../../src/platform/logger.js';

/** Runs the fixture; resolves with its output, or with `killed` when it outlives `budgetMs`. */
function runFixture(budgetMs: number): Promise<{ out: string; killed: boolean }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/security/fixtures/adversarial-patterns.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  // A budget, not a measurement: linear patterns finish in well under a second, the quadratic
  // ones they replaced need hours on these inputs.
  const timer = setTimeout(() => child.kill('SIGKILL'), budgetMs);
  return new Promise((resolve) =>
    child.once('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve({ out, killed: signal === 'SIGKILL' });
    }),
  );
}

describe('patterns over text from outside run in linear time', () => {
  it('endpoint normalisation and log scrubbing get through 1 MiB crafted inputs', async () => {
    const { out, killed } = await runFixture(120_000);
    expect(killed).toBe(false);
    // normaliseIp's answer (undefined: not an IP) is dropped by JSON; the others are lengths.
    expect(JSON.parse(out)).toEqual({
      jwtLike: expect.any(Number),
      jwtRun: expect.any(Number),
      privateKeys: expect.any(Number),
      bearer: expect.any(Number),
    });
  });

  it('keep their meaning: zone index dropped, JWTs and keys redacted', () => {
    expect(normaliseIp('fe80::1%eth0')).toBe('fe80::1');
    expect(normaliseIp('[fe80::1%25eth0]:22')).toBe('fe80::1');
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    expect(scrubLine(`{"msg":"token ${jwt} seen"}`)).not.toContain(jwt);
    expect(scrubLine(`{"msg":"url?t=${jwt}"}`)).not.toContain(jwt);
    expect(scrubLine(`{"msg":"a-b ${jwt}"}`)).not.toContain('c2lnbmF0dXJl');
  });
});

describe('configured regular expressions', () => {
  const mapping = (username: string) =>
    [
      'userMapping:',
      '  rules:',
      '    - name: hostile',
      `      match: { username: ${JSON.stringify(username)} }`,
      '      transform: { domain: strip }',
    ].join('\n');

  it('a backreference or lookaround in a mapping rule fails config validation, naming the rule and why', () => {
    let error: unknown;
    try {
      parseConfigText(mapping('regex:^(a)\\1$'), 'map.yaml', { env: {} });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.objectContaining({
        path: 'userMapping.rules[0].match.username',
        message: expect.stringMatching(/invalid escape sequence.*RE2 syntax.*no backreferences or lookaround/),
      }),
    ]);
    expect(regexProblem('^(?=a)')).toMatch(/unsupported Perl syntax/);
  });

  // Patterns that backtrack exponentially or polynomially in JavaScript's engine: the campaign's
  // `a*a*a*...` held the loop for > 15 s on 125 characters. The linear engine needs no refusal.
  it.each(['^(CORP\\\\)?a*a*a*a*a*a*$', '(a+)+$', '^(a|aa)*$', '^([a-z]*\\d)*x', '^(?:\\w+\\s?){2,}$'])(
    'runs %s against a crafted 10 000-character user in linear time',
    (source) => {
      const mapper = new UserMapper({
        domains: {},
        default: 'deny',
        rules: [
          { name: 'hostile', match: { username: `regex:${source}` }, transform: { domain: 'strip', case: 'preserve' } },
        ],
      });
      const user = `${'a'.repeat(10_000)}!`;
      // No timing: under the backtracking engine this call does not return within the test's life.
      expect(mapper.decide({ user: { username: user } }).outcome).toBe('unmapped');
    },
  );

  it.each([
    '^(CORP\\\\)?ext-',
    '^(?<first>[a-z])[a-z]*\\.(?<last>[a-z]+)@partner\\.example$',
    '^(CHG|INC)-\\d+$',
    '^(ab)+$',
    '^(a+)?b$',
    '^[(+*]+\\(x\\)$',
    '^\\p{L}{2,}$',
    '^(a{2})+$',
  ])('accepts %s', (source) => {
    expect(regexProblem(source)).toBeUndefined();
  });
});
