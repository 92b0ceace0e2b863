// leash/store/durability.hpp — when a run's records are safe.
//
// A policy of the store, chosen with it (`open_store("file:DIR?durability=async")`):
//
//   sync   (the default) each record is on stable storage before the loop
//          takes its next step: a killed process or a power loss loses
//          nothing acknowledged. FileStore: fdatasync per record. SqliteStore
//          commits each record; `sync=full` adds the wait for the disk
//          (without it a commit survives a killed process, not a power loss).
//   async  each record is handed to the operating system before the next
//          step and not flushed: a killed process loses nothing, a power loss
//          may lose the last records. FileStore only.
//   exit   nothing is written between a run's creation and its end (any
//          ending status, AWAITING_APPROVAL included, and a granted approval
//          being cleared): then everything at once. A crash in between loses
//          the run's steps (the run stays stored as started, and resuming it
//          starts over, re-running its tools). For runs that are cheap to
//          redo, where the per-step write would dominate. Any store:
//          DeferredStore (leash/store/deferred.hpp) wraps it.
#ifndef LEASH_STORE_DURABILITY_HPP
#define LEASH_STORE_DURABILITY_HPP

namespace leash {

/// When a record is safe; see the top of this file.
enum class Durability {
  /// Each record is on stable storage (fdatasync; F_FULLFSYNC on macOS) before
  /// the call returns, so the loop never goes on from a step a power loss could
  /// undo. Costs one disk flush per record.
  sync,
  /// Each record is handed to the operating system (one write()) before the
  /// call returns, and not flushed. A killed process (kill -9, a crash) loses
  /// nothing already written: the kernel still writes it out. A power loss or
  /// kernel crash may lose the last records; what survives still loads (a
  /// record cut short is treated as a torn final line).
  async,
  /// Records are held in memory and written when the run ends or pauses
  /// (DeferredStore). A crash loses the steps since the run's start.
  exit,
};

}  // namespace leash

#endif
