// Fixed: new[] goes with delete[] (better still: std::vector<int>).
int main()
{
    int *a = new int[8];
    delete[] a;
    return 0;
}
