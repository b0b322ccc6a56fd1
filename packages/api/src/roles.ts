/**
 * @module roles
 * Tenant user roles, in Azure Backup's shape, and what each may do.
 */
import { Type, type Static } from 'typebox';

export const Role = Type.Union([
  Type.Literal('owner'),
  Type.Literal('contributor'),
  Type.Literal('operator'),
  Type.Literal('reader'),
]);
export type Role = Static<typeof Role>;

/** Actions a tenant user may be allowed; routes name the one they need. */
export type Action = 'read' | 'operate' | 'write' | 'administer';

const ALLOWED: Record<Role, readonly Action[]> = {
  owner: ['read', 'operate', 'write', 'administer'],
  contributor: ['read', 'operate', 'write'],
  operator: ['read', 'operate'],
  reader: ['read'],
};

/** True when `role` may perform `action`. */
export function roleAllows(role: Role, action: Action): boolean {
  return ALLOWED[role].includes(action);
}
