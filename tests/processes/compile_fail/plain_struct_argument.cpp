// Must NOT compile: a plain struct has no wire form. The error must be one line that names the fix.
#include <tandem/process_pool.hpp>

struct Rect {
  double w, h;
};

double area(Rect r) { return r.w * r.h; }

int main() {
  tandem::ProcessPoolExecutor pool(1);
  auto f = pool.submit(&area, Rect{2, 3});
  return f.result() == 6 ? 0 : 1;
}
