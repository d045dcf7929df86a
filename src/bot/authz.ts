import type { webApi } from '@slack/bolt';
import type { Logger } from '../log/logger.ts';

type WebClient = webApi.WebClient;

export type Role = 'approver' | 'operator' | 'none';

export interface Authz {
  /** Approvers can do everything operators can, and approve in-place restores. */
  roleOf(userId: string): Promise<Role>;
}

export interface AuthzOptions {
  operators: readonly string[];
  approvers: readonly string[];
  /** For user groups (S…): usergroups.users.list. */
  client: Pick<WebClient, 'usergroups'>;
  logger: Logger;
  cacheMs?: number;
  clock?: () => number;
}

/**
 * Who may do what, from BANTAY_OPERATORS and BANTAY_APPROVERS: Slack user ids and/or user
 * group ids. Group members are fetched with usergroups.users.list and cached briefly (a
 * minute by default) so a burst of clicks is one API call. When Slack cannot tell us a group's
 * members, its members are not trusted (fail closed) and the failure is logged.
 */
export function createAuthz(options: AuthzOptions): Authz {
  const cacheMs = options.cacheMs ?? 60_000;
  const clock = options.clock ?? Date.now;
  const cache = new Map<string, { at: number; members: Promise<Set<string>> }>();

  const membersOf = (groupId: string): Promise<Set<string>> => {
    const hit = cache.get(groupId);
    if (hit && clock() - hit.at < cacheMs) return hit.members;
    const members = options.client.usergroups.users
      .list({ usergroup: groupId })
      .then((res) => new Set(res.users ?? []))
      .catch((err: unknown) => {
        options.logger.warn({ err, groupId }, 'could not list the members of a Slack user group; treating them as not authorised');
        cache.delete(groupId);
        return new Set<string>();
      });
    cache.set(groupId, { at: clock(), members });
    return members;
  };

  const isIn = async (list: readonly string[], userId: string): Promise<boolean> => {
    if (list.includes(userId)) return true;
    for (const id of list.filter((x) => x.startsWith('S'))) {
      if ((await membersOf(id)).has(userId)) return true;
    }
    return false;
  };

  return {
    async roleOf(userId) {
      if (await isIn(options.approvers, userId)) return 'approver';
      if (await isIn(options.operators, userId)) return 'operator';
      return 'none';
    },
  };
}
