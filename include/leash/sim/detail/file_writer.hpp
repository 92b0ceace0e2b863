// leash/sim/detail/file_writer.hpp — the thread a sim::Runner does its file
// work on: session logs and transcripts are created, written and renamed
// there, in the order they were asked for, while the io_context's thread goes
// on with the conversations (creating a file costs the kernel a few hundred
// microseconds, about a model round trip to a local server).
//
//   FileWriter w;
//   auto session = w.begin_session(dir / "logs" / "x.log");   // the log is made on the thread
//   auto log = w.log(session);                      // a SessionLog whose blocks the thread writes
//   log.start(…);  …
//   w.save_transcript(session, std::move(text), dir / "x.txt", sync);
//   auto files = co_await w.async_report(session);  // what became of both, once done
//   …
//   co_await w.async_drain();                       // everything asked so far is done
#ifndef LEASH_SIM_DETAIL_FILE_WRITER_HPP
#define LEASH_SIM_DETAIL_FILE_WRITER_HPP

#include <leash/detail/unique_fd.hpp>
#include <leash/sim/transcript.hpp>
#include <leash/store/detail/file_io.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>

#include <fcntl.h>

namespace leash::sim::detail {

/// What became of a session's files.
struct SessionFiles {
  bool log_opened = false;       ///< the log file was created (its later writes never fail a run)
  std::string transcript_error;  ///< empty: written (or none was asked)
};

class FileWriter {
  struct State;

 public:
  /// One session's files on the writer.
  using Session = std::shared_ptr<State>;

  FileWriter() : pool_(1), strand_(boost::asio::make_strand(pool_.get_executor())) {}
  FileWriter(FileWriter const&) = delete;
  FileWriter& operator=(FileWriter const&) = delete;
  /// Finishes what was asked, then ends the thread.
  ~FileWriter() { pool_.join(); }

  /// A session whose log is `log_path`: created (truncating an old one, its
  /// parent folder too) on the thread before its first block is written.
  Session begin_session(std::filesystem::path log_path) {
    auto s = std::make_shared<State>();
    s->log_path = std::move(log_path);
    return s;
  }

  /// The session's log: its blocks are written on the thread, in order, those
  /// that come while the thread is busy in one go. A log that could not be
  /// opened drops them, as SessionLog never fails a run; async_report tells
  /// whether it was opened.
  SessionLog log(Session const& s) {
    auto sink = [s, strand = strand_](std::string block) {
      {
        std::lock_guard lock(s->mutex);
        s->blocks += block;
        if (s->flush_queued) return;
        s->flush_queued = true;
      }
      boost::asio::post(strand, [s] { s->flush(); });
    };
    return SessionLog::to_sink(s->log_path, std::move(sink));
  }

  /// Writes `text` to `path` as save_transcript does (beside, then renamed
  /// over: it appears whole or not at all) on the thread.
  void save_transcript(Session const& s, std::string text, std::filesystem::path path, bool durable) {
    boost::asio::post(strand_, [s, text = std::move(text), path = std::move(path), durable] {
      try {
        if (auto saved = transcript_impl::save_text(text, path, durable); !saved)
          s->transcript_error = saved.error().what();
      } catch (std::exception const& e) {
        s->transcript_error = "cannot write transcript " + path.string() + ": " + e.what();
      }
    });
  }

  /// Once everything asked so far is done: whether the session's log was
  /// opened, and how its transcript was saved.
  boost::asio::awaitable<SessionFiles> async_report(Session s) {
    // The channel lives in the pool's context: the thread may drop the last
    // reference to it.
    auto done = std::make_shared<Channel>(pool_.get_executor(), 1);
    boost::asio::post(strand_, [done, s] {
      s->open_log();
      SessionFiles out;
      out.log_opened = static_cast<bool>(s->log);
      out.transcript_error = s->transcript_error;
      done->try_send(boost::system::error_code{}, std::move(out));
    });
    auto [ec, out] = co_await done->async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
    (void)ec;
    co_return out;
  }

  /// Once everything asked so far is written.
  boost::asio::awaitable<void> async_drain() {
    auto done = std::make_shared<Channel>(pool_.get_executor(), 1);
    boost::asio::post(strand_, [done] { done->try_send(boost::system::error_code{}, SessionFiles{}); });
    (void)co_await done->async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
  }

 private:
  // Touched on the thread only, but for the blocks waiting to be written.
  struct State {
    std::filesystem::path log_path;
    leash::detail::UniqueFd log;
    bool log_tried = false;
    std::string transcript_error;
    std::mutex mutex;  // the two below
    std::string blocks;
    bool flush_queued = false;

    void open_log() {
      if (std::exchange(log_tried, true)) return;
      auto target = transcript_impl::with_parent(log_path);
      std::error_code ec;
      std::filesystem::create_directories(target.parent_path(), ec);
      if (ec) return;
      (void)leash::detail::file_io::open_file(target, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, log, 0644);
    }
    void flush() {
      std::string out;
      {
        std::lock_guard lock(mutex);
        out.swap(blocks);
        flush_queued = false;
      }
      open_log();
      if (log) (void)leash::detail::file_io::write_all(log.get(), out);
    }
  };
  using Channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code, SessionFiles)>;

  boost::asio::thread_pool pool_;
  boost::asio::strand<boost::asio::thread_pool::executor_type> strand_;
};

}  // namespace leash::sim::detail

#endif
