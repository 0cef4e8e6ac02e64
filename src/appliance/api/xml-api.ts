import { ServiceError } from '../../platform/errors.js';

/**
 * "Enable XML API" (/login > Management > API Configuration) switches the Command and Reporting
 * APIs off for every account at once. Its refusal is a 403 like a missing permission; told apart
 * by its text naming the XML API (or, in command-api.ts, by a 403 on get_api_info, which needs no
 * permission), so `check` names the switch instead of sending the administrator to the accounts.
 */
export function mentionsXmlApi(body: string): boolean {
  return /\bXML API\b/i.test(body);
}

export function xmlApiDisabled(site: string, op: string): ServiceError {
  return new ServiceError(
    'appliance.xml_api_disabled',
    `site ${site}: the XML API is disabled ("Enable XML API" is not ticked in /login > Management > API Configuration)`,
    { op, details: { site } },
  );
}
