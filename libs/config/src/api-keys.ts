export const ROLES = ['read', 'write', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** read < write < admin: a key's role grants everything the roles below it grant. */
export function roleAllows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export interface ApiKey {
  name: string;
  key: string;
  role: Role;
}

/** Shortest key accepted: shorter ones are guessable. */
export const MIN_KEY_LENGTH = 16;

/**
 * Parses API_KEYS ("name:key:role,..."). Problems name the entry by position and name, never by
 * its key, so a startup error does not print a secret.
 */
export function parseApiKeys(raw: string | undefined): { keys: ApiKey[]; problems: string[] } {
  const keys: ApiKey[] = [];
  const problems: string[] = [];
  const entries = (raw ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  entries.forEach((entry, i) => {
    const parts = entry.split(':');
    const where = `API_KEYS entry ${i + 1}${parts[0] ? ` ("${parts[0]}")` : ''}`;
    if (parts.length !== 3) {
      problems.push(`${where}: must be name:key:role`);
      return;
    }
    const [name, key, role] = parts.map((p) => p.trim());
    if (!/^[\w.-]{1,64}$/.test(name)) {
      problems.push(`${where}: the name must be 1-64 letters, digits, _ . -`);
    } else if (key.length < MIN_KEY_LENGTH || /\s/.test(key)) {
      problems.push(`${where}: the key must be at least ${MIN_KEY_LENGTH} characters, no spaces`);
    } else if (!(ROLES as readonly string[]).includes(role)) {
      problems.push(`${where}: the role must be one of ${ROLES.join(', ')}`);
    } else if (keys.some((k) => k.name === name)) {
      problems.push(`${where}: the name is used twice`);
    } else if (keys.some((k) => k.key === key)) {
      problems.push(`${where}: the key is used twice`);
    } else {
      keys.push({ name, key, role: role as Role });
    }
  });
  return { keys, problems };
}
