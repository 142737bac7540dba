#pragma once
// One `apical run` per session at a time. Two runs on one session would each recompute the
// same outputs and race to rename them; the second one stops instead, with a message.
#include <filesystem>

namespace apical {

class SessionLock {
 public:
  // Locks SESSION/apical/.run.lock (an flock, so a killed run never leaves a stale lock).
  // InputError naming the session and the running process when another run holds it.
  explicit SessionLock(const std::filesystem::path& session);
  ~SessionLock();
  SessionLock(const SessionLock&) = delete;
  SessionLock& operator=(const SessionLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace apical
