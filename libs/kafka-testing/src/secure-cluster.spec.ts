import { jaasQuote, parseAclList, propertiesText, scramFormatArgs, unsecuredJwt } from './secure-cluster';

describe('secure-cluster helpers', () => {
  it('unsecuredJwt: alg none, sub/iat/exp in seconds, empty signature', () => {
    const before = Math.floor(Date.now() / 1000);
    const [h, p, sig] = unsecuredJwt('alice', 60_000).split('.');
    expect(sig).toBe('');
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'none' });
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { sub: string; iat: number; exp: number };
    expect(claims.sub).toBe('alice');
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.exp - claims.iat).toBeGreaterThanOrEqual(59);
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(61);
  });

  it('jaasQuote escapes backslash and double quote only', () => {
    expect(jaasQuote('S3cr3t-Ø-%s-MARKER')).toBe('"S3cr3t-Ø-%s-MARKER"');
    expect(jaasQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
  });

  it('propertiesText writes non-ASCII as \\u escapes (Properties.load reads ISO-8859-1)', () => {
    expect(propertiesText({ k: 'Ø\\x\n' })).toBe('k=\\u00d8\\\\x\\n\n');
  });

  it('scramFormatArgs carries any password as base64 salt and salted password', () => {
    const args = scramFormatArgs({ alice: 'we,ird]"Ø%s' });
    expect(args.filter((a) => a === '--add-scram')).toHaveLength(2);
    for (const a of args.filter((x) => x !== '--add-scram')) {
      expect(a).toMatch(/^SCRAM-SHA-(256|512)=\[name=alice,iterations=8192,salt="[A-Za-z0-9+/=]+",saltedpassword="[A-Za-z0-9+/=]+"\]$/);
    }
    expect(() => scramFormatArgs({ 'a,b': 'x' })).toThrow(/cannot be passed/);
  });

  it('parseAclList reads the "Current ACLs" blocks and ignores the "Adding ACLs" echo', () => {
    const out = [
      'Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)`: ',
      ' \t(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)',
      '',
      'Current ACLs for resource `ResourcePattern(resourceType=TRANSACTIONAL_ID, name=tx-, patternType=PREFIXED)`:',
      '\t(principal=User:CN=alice-client, host=*, operation=DESCRIBE, permissionType=DENY)',
      '',
    ].join('\n');
    expect(parseAclList(out)).toEqual([
      {
        resourceType: 'TRANSACTIONAL_ID',
        resourceName: 'tx-',
        patternType: 'PREFIXED',
        principal: 'User:CN=alice-client',
        host: '*',
        operation: 'DESCRIBE',
        permissionType: 'DENY',
      },
    ]);
  });
});
