// Pitfall: using an object after it was deleted (a dangling pointer).
#include <cstdio>

struct Node {
    int value;
};

int main()
{
    Node *n = new Node{42};
    Node *alias = n;  // a second pointer to the same object
    delete n;
    std::printf("%d\n", alias->value);  // the object is gone
    return 0;
}
