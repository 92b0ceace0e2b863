// The same speaker with its member named as the Speaker requirement says.
#include <leash/sim/conversation.hpp>
#include <leash/sim/scripted_speaker.hpp>

struct EchoBot {
  boost::asio::awaitable<leash::result<leash::sim::Reply>> start() { co_return leash::sim::Reply{}; }
  boost::asio::awaitable<leash::result<leash::sim::Reply>> respond(leash::sim::History) { co_return leash::sim::Reply{}; }
};

int main() {
  leash::sim::ScriptedSpeaker user;
  EchoBot bot;
  leash::sim::Conversation chat(user, bot);
  return chat.history().empty() ? 0 : 1;
}
