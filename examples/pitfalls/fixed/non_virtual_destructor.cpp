// Fixed: a base class meant for deletion through a pointer has a virtual destructor.
#include <cstdlib>
#include <cstring>

struct Base {
    virtual ~Base() {}
};

struct Derived : Base {
    char *name;
    Derived() : name(static_cast<char *>(std::malloc(64))) { std::strcpy(name, "freed"); }
    ~Derived() override { std::free(name); }
};

int main()
{
    Base *b = new Derived;
    delete b;  // ~Derived runs, then ~Base
    return 0;
}
