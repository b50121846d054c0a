// Pitfall: an iterator kept across push_back; the vector moved its storage.
#include <cstdio>
#include <vector>

int main()
{
    std::vector<int> v = {1, 2, 3};
    v.reserve(3);
    auto it = v.begin();
    v.push_back(4);  // capacity 3 is full: new storage, the old one freed
    std::printf("%d\n", *it);  // reads the freed storage
    return 0;
}
