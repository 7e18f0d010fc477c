// Must NOT compile: a plain struct as a task's result (here through map) or a Process argument.
#include <tandem/process.hpp>
#include <tandem/process_pool.hpp>

#include <vector>

struct Pair {
  int a, b;
};

Pair twice(int x) { return {x, 2 * x}; }
void show(std::vector<Pair> pairs) { (void)pairs; }

int main() {
  tandem::ProcessPoolExecutor pool(1);
  for (Pair p : pool.map(&twice, std::vector<int>{1, 2, 3})) (void)p;
  tandem::Process child(&show, std::vector<Pair>{{1, 2}});
  child.start();
  return 0;
}
