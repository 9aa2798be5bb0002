/**
 * What a lineage source sees of a bus: raw observations (end offsets,
 * consumer groups, committed offsets) and the roles' own reports of work in
 * flight. The Kafka admin API and the embedded bus both give this shape, so
 * one model is built from either (see `model.ts`).
 */

import { z } from 'zod';

/** One partition's log: the first offset still kept and the next offset to be written. */
export interface PartitionEnds {
  partition: number;
  start: number;
  end: number;
}

export interface TopicObservation {
  name: string;
  partitions: PartitionEnds[];
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  /** The next offset the group will read. */
  offset: number;
}

export interface MemberObservation {
  /**
   * Who the member is. A Kafka group member's id; for a host reader, its
   * process (`host.pid`), the same for every reader of that process, so that
   * the lineage page counts the process once.
   */
  memberId: string;
  clientId: string;
}

export interface GroupObservation {
  groupId: string;
  members: MemberObservation[];
  committed: CommittedOffset[];
}

/** What a running role says about itself every few seconds (not in Kafka's own metadata). */
export interface RoleReport {
  role: string;
  host: string;
  pid: number;
  inFlight: number;
  capacity: number;
  /** Epoch ms when it was made. */
  at: number;
  /** The role's host readers on that host (they have no consumer group): where each has read to. */
  readers?: ReaderReport[];
}

/** A host reader as its role reports it: its id (its old per-host group id) and its positions. */
export interface ReaderReport {
  id: string;
  positions: CommittedOffset[];
}

/** How often a role reports its work in flight; a report older than three intervals is from a stopped process. */
export const ROLE_REPORT_INTERVAL_MS = 5_000;
export const ROLE_REPORT_TTL_MS = 3 * ROLE_REPORT_INTERVAL_MS;

const roleReportSchema = z.object({
  role: z.string().min(1).max(32),
  host: z.string().min(1).max(64),
  pid: z.number().int().nonnegative(),
  inFlight: z.number().int().nonnegative(),
  capacity: z.number().int().nonnegative(),
  at: z.number().int().positive(),
  readers: z
    .array(
      z.object({
        id: z.string().min(1).max(200),
        positions: z
          .array(
            z.object({
              topic: z.string().min(1).max(249),
              partition: z.number().int().nonnegative(),
              offset: z.number().int(),
            }),
          )
          .max(10_000),
      }),
    )
    .max(50)
    .optional(),
});

/** A role report from its JSON bytes; undefined for anything else (a report is advice, never worth failing on). */
export function parseRoleReport(bytes: Buffer | null): RoleReport | undefined {
  if (!bytes) return undefined;
  try {
    const parsed = roleReportSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The key a role's reports carry: one per role, host and process. */
export function roleReportKey(report: Pick<RoleReport, 'role' | 'host' | 'pid'>): string {
  return `${report.role}.${report.host}.${report.pid}`;
}

/**
 * Host readers as groups: each reader a role reports is one group of one
 * member (its host), its positions standing for committed offsets, so the
 * lineage page and the lag metrics count hosts and their lag as they counted
 * per-host groups. Only fresh reports count: a stopped host drops out.
 */
export function hostReaderGroups(reports: readonly RoleReport[], now: number, ttlMs: number): GroupObservation[] {
  return reports
    .filter((report) => report.at >= now - ttlMs)
    .flatMap((report) =>
      (report.readers ?? []).map((reader) => ({
        groupId: reader.id,
        members: [{ memberId: `${report.host}.${report.pid}`, clientId: `${report.role}@${report.host}` }],
        committed: reader.positions.map((position) => ({ ...position })),
      })),
    );
}

/** Groups seen, with host readers' groups in place of any Kafka group of the same id (left from before). */
export function withHostReaderGroups(
  groups: readonly GroupObservation[],
  readers: readonly GroupObservation[],
): GroupObservation[] {
  const ids = new Set(readers.map((group) => group.groupId));
  return [...groups.filter((group) => !ids.has(group.groupId)), ...readers];
}

export interface LineageObservations {
  /** Epoch ms of the observation. */
  at: number;
  /** Topics that exist; a missing one is left out. */
  topics: TopicObservation[];
  groups: GroupObservation[];
  reports: RoleReport[];
  /** What the source could not see, in words (a missing stats topic, say). */
  notes?: string[];
}

/** Where observations come from: the Kafka admin API, or the embedded bus. */
export interface LineageSource {
  observe(): Promise<LineageObservations>;
  close(): Promise<void>;
}
