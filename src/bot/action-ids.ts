/**
 * Every id the bot puts in a Block Kit payload and routes on: slash commands, view callback
 * ids, block ids and action ids. One place, so handlers, builders, tests and the console
 * never disagree about a string.
 */
export const SlashCommand = {
  Backup: '/backup',
  Restore: '/restore',
  Verify: '/verify',
  Drill: '/drill',
  Backups: '/backups',
  Incident: '/incident',
} as const;

export const ViewId = {
  Backup: 'bantay_backup_confirm',
  Restore: 'bantay_restore_confirm',
  Verify: 'bantay_verify_confirm',
  Drill: 'bantay_drill_confirm',
  Notice: 'bantay_notice',
  Loading: 'bantay_loading',
  Details: 'bantay_details',
} as const;

export const ActionId = {
  Approve: 'bantay_approval_approve',
  Reject: 'bantay_approval_reject',
  Retry: 'bantay_job_retry',
  VerifyNow: 'bantay_next_verify',
  OpenRestore: 'bantay_next_restore',
  ShowDetails: 'bantay_next_details',
  RollBack: 'bantay_next_rollback',
  DropKept: 'bantay_next_drop_kept',
  RestoreAnotherName: 'bantay_next_restore_renamed',
  HomeBackup: 'bantay_home_backup',
  HomeVerify: 'bantay_home_verify',
  HomeDrill: 'bantay_home_drill',
  HomeRestore: 'bantay_home_restore',
  AckFailedVerification: 'bantay_restore_ack_failed',
  BackupKind: 'bantay_backup_kind',
  BackupLabel: 'bantay_backup_label',
  RestoreBackup: 'bantay_restore_backup',
  RestoreTarget: 'bantay_restore_target',
  RestoreTargetName: 'bantay_restore_target_name',
  RestoreDate: 'bantay_restore_date',
  RestoreReason: 'bantay_restore_reason',
  RestoreConfirmName: 'bantay_restore_confirm_name',
  RestoreTime: 'bantay_restore_time',
  RestoreInPlaceOptions: 'bantay_restore_in_place_options',
  VerifyBackup: 'bantay_verify_backup',
} as const;

/** Input blocks of the modals; view_submission state is keyed by block id, then action id. */
export const BlockId = {
  BackupKind: 'backup_kind',
  BackupLabel: 'backup_label',
  RestoreBackup: 'restore_backup',
  RestoreTarget: 'restore_target',
  RestoreTargetName: 'restore_target_name',
  RestoreDate: 'restore_date',
  RestoreReason: 'restore_reason',
  RestoreConfirmName: 'restore_confirm_name',
  RestoreTime: 'restore_time',
  VerifyBackup: 'verify_backup',
  ApprovalActions: 'approval_actions',
  RestoreAckFailed: 'restore_ack_failed',
  RestoreInPlaceOptions: 'restore_in_place_options',
  HomeActions: 'home_actions',
  JobActions: 'job_actions',
} as const;

/** Values of the restore form's "in place, only if needed" checkboxes. */
export const InPlaceOption = {
  AcceptRestoreErrors: 'accept-restore-errors',
  FromOtherDatabase: 'from-other-database',
} as const;

/** Values of the restore target radio buttons. */
export const RestoreTarget = {
  New: 'new',
  InPlace: 'in-place',
  /** A database recovered from a base backup and the WAL archive to a typed second, into a new database. */
  PointInTime: 'point-in-time',
} as const;
