// A speaker whose reply member is misnamed: Conversation says what it needs.
#include <leash/sim/conversation.hpp>
#include <leash/sim/scripted_speaker.hpp>

struct EchoBot {
  boost::asio::awaitable<leash::result<leash::sim::Reply>> start() { co_return leash::sim::Reply{}; }
  boost::asio::awaitable<leash::result<leash::sim::Reply>> reply(leash::sim::History) { co_return leash::sim::Reply{}; }
};

int main() {
  leash::sim::ScriptedSpeaker user;
  EchoBot bot;
  leash::sim::Conversation chat(user, bot);
  return chat.history().empty() ? 0 : 1;
}
