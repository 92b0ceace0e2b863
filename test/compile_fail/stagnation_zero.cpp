// Stagnation<0> would end a session loop before its first session.
#include <leash/learn/session_loop.hpp>

int main() { return leash::learn::Stagnation<0>::k; }
