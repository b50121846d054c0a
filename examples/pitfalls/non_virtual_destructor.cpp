// Pitfall: deleting a derived object through a base pointer whose destructor
// is not virtual: only ~Base runs, and the sized delete gets the wrong size.
#include <cstdlib>
#include <cstring>

struct Base {
    ~Base() {}  // not virtual
};

struct Derived : Base {
    char *name;
    Derived() : name(static_cast<char *>(std::malloc(64))) { std::strcpy(name, "never freed"); }
    ~Derived() { std::free(name); }
};

int main()
{
    Base *b = new Derived;
    delete b;  // ~Derived never runs
    return 0;
}
