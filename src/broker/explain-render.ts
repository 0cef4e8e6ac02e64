import type { ExplainInput, ExplainReport } from './broker.js';

/**
 * Text form of an ExplainReport for `ecm-bridge test-settings`: one section per broker step, in
 * the order the broker takes them, so an admin can see where a request stops and why. Contains
 * no secret (the report never has one; a checkout only says which secret kinds came back).
 */
export function renderExplainReport(input: ExplainInput, r: ExplainReport): string {
  const out: string[] = [];
  const where = [input.endpoint.hostname, input.endpoint.fqdn, input.endpoint.ip].filter(Boolean).join(' / ');
  out.push(
    `Console user ${input.user.username}${input.user.securityProvider?.name ? ` (${input.user.securityProvider.name})` : ''} on endpoint ${where}` +
      `${input.jumpGroup ? `, Jump Group "${input.jumpGroup}"` : ''}${input.externalKey ? `, External Key "${input.externalKey}"` : ''}`,
  );

  out.push('', 'User mapping (first matching rule wins)');
  const width = Math.max(...r.mapping.trace.map((t) => t.rule.length));
  for (const t of r.mapping.trace)
    out.push(`  ${t.verdict === 'matched' ? '*' : ' '} ${t.rule.padEnd(width)}  ${t.verdict.padEnd(8)}  ${t.detail}`);
  if (r.mapping.outcome === 'mapped')
    out.push(
      `  => vault user "${r.mapping.vaultUser}"${r.mapping.rule ? ` (rule ${r.mapping.rule})` : ' (default passthrough)'}`,
    );
  else if (r.mapping.outcome === 'denied') out.push(`  => denied by rule ${r.mapping.rule}: ${r.mapping.reason}`);
  else out.push('  => no vault user (userMapping.default is deny)', `  hint: ${r.mapping.hint}`);

  if (r.target) {
    out.push('', 'Endpoint as sent to the vault');
    const alias = new Set(r.target.aliasNames);
    out.push(`  names: ${r.target.names.map((n) => (alias.has(n) ? `${n} (alias)` : n)).join(', ') || '(none)'}`);
    out.push(`  ips:   ${r.target.ips.join(', ') || '(none)'}`);
    for (const n of r.target.notes) out.push(`  note:  ${n}`);
  }

  if (r.accounts && r.mapping.outcome === 'mapped') {
    out.push('', `Vault accounts visible to ${r.mapping.vaultUser} on this endpoint (${r.accounts.length})`);
    for (const a of r.accounts) {
      out.push(
        `  ${`${a.systemName} / ${a.domainName ? `${a.domainName}\\` : ''}${a.accountName}`.padEnd(36)} ${a.source.padEnd(13)} ${a.kind.padEnd(8)} workgroup ${a.workgroup ?? '-'}`,
      );
    }
    if (r.accounts.length === 0)
      out.push('  (none: check the system names/IPs in the vault and that the accounts are API-enabled for this user)');
  }
  if (r.dropped.length > 0) {
    out.push('', 'Dropped by endpointMatching.jumpGroups');
    for (const d of r.dropped) out.push(`  ${d}`);
  }
  if (r.offered.length > 0) {
    out.push('', `Credentials the console would be offered (${r.offered.length}, in order)`);
    r.offered.forEach((o, i) => out.push(`  ${i + 1}. ${o.displayName.padEnd(36)} ${o.source.padEnd(13)} ${o.kind}`));
  }

  out.push('', 'Release policies');
  if (r.policies.length === 0) out.push('  (none apply)');
  for (const p of r.policies) out.push(`  ${p.ok ? 'pass   ' : 'REFUSE '} ${p.policy}: ${p.detail}`);

  if (r.checkout) {
    const c = r.checkout;
    out.push('', 'Checkout (--checkout)');
    out.push(`  ${c.credential}: vault request ${c.vaultRequestId}, expires ${c.expiresAt}`);
    out.push(
      `  received: ${c.received.join(', ') || 'nothing'} (not shown); checked in again: ${c.checkedIn ? 'yes' : 'NO'}`,
    );
  }

  out.push(
    '',
    r.error
      ? `Result: ${verdict(r.error.code)} [${r.error.code}] ${r.error.message}`
      : r.offered.length === 0
        ? 'Result: OK, no credential to offer (a valid answer: the console lets the user type one)'
        : `Result: OK${input.checkout ? '' : ' (nothing was checked out; add --checkout to try a release)'}`,
  );
  return out.join('\n') + '\n';
}

/** A refusal is a decision (mapping, policy, the vault's grants); anything else is a failure to answer. */
function verdict(code: string): string {
  if (code.startsWith('mapping.') || code.startsWith('policy.') || code === 'vault.forbidden') return 'REFUSED';
  if (code === 'vault.unavailable' || code === 'vault.tls' || code === 'service.timeout')
    return 'FAILED: vault unavailable';
  return 'FAILED';
}
